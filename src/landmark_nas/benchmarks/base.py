"""One in-memory view of a benchmark table, whatever file it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from landmark_nas.errors import ArchitectureError, DataError
from landmark_nas.spaces.base import Arch, SearchSpace

DATASETS = ("cifar10", "cifar100", "imagenet16-120")


def check_source(path: Path, dataset: str) -> None:
    """Fail with a one-line message unless ``path`` exists and ``dataset`` is known."""
    if dataset not in DATASETS:
        raise DataError(
            f"unknown benchmark dataset {dataset!r} (choose from: {', '.join(DATASETS)})"
        )
    if not path.exists():
        raise DataError(f"benchmark file {path} does not exist")


class Benchmark:
    """Stand-alone test accuracy (percent) of every architecture of a search space.

    ``archs[k]`` is the architecture with benchmark index ``k``; readers of each
    file format build this from their source and validate it once.
    """

    def __init__(
        self,
        space: SearchSpace,
        archs: list[Arch],
        accuracy: np.ndarray,
        source: Path,
        dataset: str,
        canonical: list[str] | None = None,
    ) -> None:
        if len(archs) != space.size:
            raise DataError(
                f"{source}: holds {len(archs)} architectures, the {space.name} search space "
                f"has {space.size} (truncated or wrong file?)"
            )
        self.space = space
        self.archs = archs
        self.accuracy = np.asarray(accuracy, dtype=np.float64)
        self.source = source
        self.dataset = dataset
        self.table_canonical = canonical
        self._index = {arch: k for k, arch in enumerate(archs)}
        if len(self._index) != len(archs):
            raise DataError(f"{source}: the same architecture appears in two rows")

    def __len__(self) -> int:
        return len(self.archs)

    def index(self, arch: Arch) -> int:
        """The benchmark index of ``arch``."""
        try:
            return self._index[arch]
        except KeyError:
            raise ArchitectureError(
                f"architecture {self.space.format(arch)!r} is not in {self.source}"
            ) from None

    def accuracy_of(self, arch: Arch) -> float:
        """Stand-alone test accuracy of ``arch`` in percent."""
        return float(self.accuracy[self.index(arch)])

    def percentile_of(self, arch: Arch) -> float:
        """Share of the space (percent) with accuracy at or below that of ``arch``."""
        return float(100.0 * np.mean(self.accuracy <= self.accuracy_of(arch)))

    def rank_of(self, arch: Arch) -> int:
        """1-based rank of ``arch`` by accuracy (1 = best)."""
        return int(np.sum(self.accuracy > self.accuracy_of(arch))) + 1
