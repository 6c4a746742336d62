"""Datasets, the benchmark's data protocol (splits) and tensor augmentation."""

from landmark_nas.data import cifar10  # noqa: F401  (registers "cifar10")
from landmark_nas.data.base import ImageDataset, load_dataset, resolve_data_dir
from landmark_nas.data.splits import DataSplits, make_splits

__all__ = ["DataSplits", "ImageDataset", "load_dataset", "make_splits", "resolve_data_dir"]
