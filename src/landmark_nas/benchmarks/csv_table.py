"""Reader for the CSV export of NAS-Bench-201 / NATS-Bench (topology) ground truth.

Expected columns: ``ArchitectureString``, one accuracy column per dataset
(``CIFAR10TestAccuracy200Epochs`` and so on) and optionally ``UniqueString``.
Row ``k`` after the header is benchmark index ``k``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from landmark_nas.benchmarks.base import Benchmark, check_source
from landmark_nas.errors import ArchitectureError, DataError
from landmark_nas.registry import BENCHMARKS
from landmark_nas.spaces.base import SearchSpace

ACCURACY_COLUMNS = {
    "cifar10": "CIFAR10TestAccuracy200Epochs",
    "cifar100": "CIFAR100TestAccuracy200Epochs",
    "imagenet16-120": "ImageNetTestAccuracy200Epochs",
}
ARCH_COLUMN = "ArchitectureString"
CANONICAL_COLUMN = "UniqueString"


@BENCHMARKS.register("csv")
def read_csv_benchmark(path: Path, space: SearchSpace, dataset: str = "cifar10") -> Benchmark:
    """Read a CSV table; every problem names the file, row and column."""
    check_source(path, dataset)
    if not path.is_file():
        raise DataError(f"benchmark file {path} is not a file")
    column = ACCURACY_COLUMNS[dataset]
    archs, accuracy, canonical = [], [], []
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (ARCH_COLUMN, column) if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
        has_canonical = CANONICAL_COLUMN in reader.fieldnames
        for row_number, row in enumerate(reader, start=2):
            archs.append(_parse_row_arch(path, row_number, row, space))
            accuracy.append(_parse_accuracy(path, row_number, row.get(column), column))
            if has_canonical:
                canonical.append(row[CANONICAL_COLUMN])
    return Benchmark(
        space, archs, np.array(accuracy), path, dataset, canonical if has_canonical else None
    )


def _parse_row_arch(path: Path, row_number: int, row: dict, space: SearchSpace):
    try:
        return space.parse(row[ARCH_COLUMN] or "")
    except ArchitectureError as error:
        raise DataError(f"{path}: line {row_number}, column {ARCH_COLUMN}: {error}") from None


def _parse_accuracy(path: Path, row_number: int, text: str | None, column: str) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(
            f"{path}: line {row_number}, column {column}: {text!r} is not a number"
        ) from None
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        raise DataError(f"{path}: line {row_number}, column {column}: {value} is not a percentage")
    return value
