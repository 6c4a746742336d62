"""Human-readable results: terminal tables and PNG plots."""

from landmark_nas.reports.plots import plot_scatter, plot_tau_over_epochs
from landmark_nas.reports.tables import comparison_table, format_table

__all__ = ["comparison_table", "format_table", "plot_scatter", "plot_tau_over_epochs"]
