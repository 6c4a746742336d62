"""Reader for the official NATS-Bench / NAS-Bench-201 files through their API packages.

Users who hold the original benchmark file (``NATS-tss-v1_0-3ffb9-simple`` or
``NAS-Bench-201-v1_*.pth``) install ``nats_bench`` or ``nas_201_api`` and pass the
file path; the table is read once through the API into the common
:class:`~landmark_nas.benchmarks.base.Benchmark` view (200-epoch test accuracy).
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import numpy as np

from landmark_nas.benchmarks.base import Benchmark, check_source
from landmark_nas.errors import ArchitectureError, DataError
from landmark_nas.registry import BENCHMARKS
from landmark_nas.spaces.base import SearchSpace

logger = logging.getLogger(__name__)

# The official API's spelling of each dataset name.
API_DATASET_NAMES = {
    "cifar10": "cifar10",
    "cifar100": "cifar100",
    "imagenet16-120": "ImageNet16-120",
}


def _open_api(path: Path) -> Any:
    """An API object for ``path`` from whichever official package is installed."""
    try:
        nats_bench = importlib.import_module("nats_bench")
    except ImportError:
        nats_bench = None
    if nats_bench is not None:
        return nats_bench.create(str(path), "tss", fast_mode=True, verbose=False)
    try:
        nas_201_api = importlib.import_module("nas_201_api")
    except ImportError:
        raise DataError(
            f"{path}: reading an official benchmark file needs the 'nats_bench' or "
            "'nas_201_api' package (pip install nats_bench); or pass the CSV export"
        ) from None
    return nas_201_api.NASBench201API(str(path), verbose=False)


@BENCHMARKS.register("nats")
def read_official_benchmark(path: Path, space: SearchSpace, dataset: str = "cifar10") -> Benchmark:
    """Query every architecture's 200-epoch test accuracy on ``dataset``."""
    check_source(path, dataset)
    api = _open_api(path)
    logger.info("reading %d architectures from %s through %s", len(api), path, type(api).__name__)
    archs, accuracy = [], []
    for index in range(len(api)):
        try:
            archs.append(space.parse(api.arch(index)))
        except ArchitectureError as error:
            raise DataError(f"{path}: architecture {index}: {error}") from None
        info = api.get_more_info(index, API_DATASET_NAMES[dataset], hp="200", is_random=False)
        accuracy.append(float(info["test-accuracy"]))
    return Benchmark(space, archs, np.array(accuracy), path, dataset)
