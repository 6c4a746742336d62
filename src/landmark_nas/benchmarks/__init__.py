"""Stand-alone ground truth: benchmark tables of architecture accuracies."""

from __future__ import annotations

from pathlib import Path

from landmark_nas.benchmarks import csv_table, official_api  # noqa: F401  (register formats)
from landmark_nas.benchmarks.base import Benchmark
from landmark_nas.registry import BENCHMARKS
from landmark_nas.spaces.base import SearchSpace


def detect_format(path: Path) -> str:
    """``"csv"`` for a ``.csv`` table, otherwise the official API file format."""
    return "csv" if path.suffix.lower() == ".csv" else "nats"


def load_benchmark(
    path: str | Path,
    space: SearchSpace,
    dataset: str = "cifar10",
    file_format: str = "auto",
) -> Benchmark:
    """Read the ground truth for ``dataset`` from ``path`` (format detected by default)."""
    path = Path(path)
    name = detect_format(path) if file_format == "auto" else file_format
    return BENCHMARKS.get(name)(path, space, dataset)


__all__ = ["Benchmark", "load_benchmark"]
