"""In-memory image datasets and where to find them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from landmark_nas.errors import DataError
from landmark_nas.registry import DATASETS

DATA_ENV = "LANDMARK_NAS_DATA"


@dataclass
class ImageDataset:
    """Training images of a dataset as uint8 ``[N, C, H, W]`` with int64 labels.

    ``mean`` and ``std`` are per-channel statistics in the 0-1 pixel scale, used to
    normalize batches on the fly.
    """

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    num_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def resolve_data_dir(data: str | Path | None) -> Path:
    """The data folder from ``--data`` or the ``LANDMARK_NAS_DATA`` variable."""
    if data is None or str(data) == "":
        data = os.environ.get(DATA_ENV)
    if not data:
        raise DataError(f"no data folder: pass --data DIR or set {DATA_ENV}")
    path = Path(data).expanduser()
    if not path.is_dir():
        raise DataError(f"data folder {path} does not exist")
    return path


def load_dataset(name: str, data: str | Path | None) -> ImageDataset:
    """Load the training images of the dataset registered as ``name``."""
    return DATASETS.get(name)(resolve_data_dir(data))
