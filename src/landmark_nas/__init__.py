"""landmark-nas: weight-sharing NAS with landmark regularization.

The package is laid out by concern: ``spaces`` (search spaces and architecture
strings), ``benchmarks`` (stand-alone ground truth), ``data`` (datasets and
splits), ``supernet`` (weight-sharing networks), ``training`` (samplers and the
SPOS loop), ``landmarks`` (the landmark regularizer), ``evaluation`` (ranking
correlation), ``search`` (search strategies), ``reports`` (tables and plots) and
``cli`` (the ``landmark-nas`` command).
"""

__version__ = "0.1.0"
