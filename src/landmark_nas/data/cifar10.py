"""CIFAR-10 in the official "python version" layout (``cifar-10-batches-py``).

The folder holds ``data_batch_1`` .. ``data_batch_5`` (10,000 images each) as
pickles with ``data`` (uint8 ``[N, 3072]``, R, G, B planes of 32x32) and
``labels``. Only the training batches are read: the NAS-Bench-201 protocol splits
them into a half for weight training and a held-out half.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import torch

from landmark_nas.data.base import ImageDataset
from landmark_nas.errors import DataError
from landmark_nas.registry import DATASETS

logger = logging.getLogger(__name__)

FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{k}" for k in range(1, 6))
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
IMAGES_PER_BATCH = 10_000


def find_batches_dir(root: Path) -> Path:
    """``root`` itself or its ``cifar-10-batches-py`` child, whichever holds the batches."""
    for candidate in (root, root / FOLDER):
        if (candidate / TRAIN_BATCHES[0]).is_file():
            return candidate
    raise DataError(
        f"{root}: no CIFAR-10 python batches ({FOLDER}/{TRAIN_BATCHES[0]}); "
        "unpack the official archive or run shared/datasets/cifar10/prepare.py DIR"
    )


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images ``[N, 3, 32, 32]`` uint8 and labels of one pickle file, validated."""
    if not path.is_file():
        raise DataError(f"CIFAR-10 batch {path} is missing")
    try:
        with open(path, "rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, ValueError, OSError) as error:
        raise DataError(f"{path}: unreadable or truncated pickle ({error})") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path}: expected a pickled dict, found {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    for key in ("data", "labels"):
        if key not in batch:
            raise DataError(f"{path}: missing key {key!r}")
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise DataError(
            f"{path}: field 'data' has shape {data.shape}, expected [N, 3072] with "
            f"{labels.shape[0]} labels"
        )
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: field 'labels' holds values outside 0-9")
    return data.reshape(-1, 3, 32, 32), labels


@DATASETS.register("cifar10")
def load_cifar10(root: Path) -> ImageDataset:
    """The 50,000 CIFAR-10 training images, in file order."""
    folder = find_batches_dir(root)
    parts = [read_batch(folder / name) for name in TRAIN_BATCHES]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    logger.info("read %d CIFAR-10 training images from %s", len(labels), folder)
    return ImageDataset(
        name="cifar10",
        images=torch.from_numpy(images),
        labels=torch.from_numpy(labels),
        num_classes=10,
        mean=MEAN,
        std=STD,
    )
