"""Batches addressed by step number, so a resumed run sees exactly the same data.

Every random choice of a step (data order, augmentation, sampled architecture,
landmark pairs and batch) comes from a generator seeded by ``(seed, step,
stream)``: nothing random is carried between steps, and a run restarted at any
step continues as if it had never stopped. Runs that share a seed share all of
these streams, which pairs a baseline with its landmark-regularized twin.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import torch

from landmark_nas.data.base import ImageDataset
from landmark_nas.data.splits import augment, normalize


class Stream(IntEnum):
    ORDER = 0
    AUGMENT = 1
    ARCH = 2
    PAIRS = 3
    LANDMARK_BATCH = 4


def step_rng(seed: int, index: int, stream: Stream) -> np.random.Generator:
    """The generator of ``stream`` at step (or epoch) ``index`` of a run with ``seed``."""
    return np.random.default_rng([seed, index, int(stream)])


class _IndexedImages:
    """The images of ``indices`` copied out of a dataset, batched by step number."""

    def __init__(
        self, dataset: ImageDataset, indices: np.ndarray, batch_size: int, seed: int
    ) -> None:
        self.images = dataset.images[torch.from_numpy(indices)]
        self.labels = dataset.labels[torch.from_numpy(indices)]
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed


class TrainStream(_IndexedImages):
    """Shuffled, augmented weight-training batches; the last partial batch is dropped."""

    def __init__(
        self,
        dataset: ImageDataset,
        indices: np.ndarray,
        batch_size: int,
        seed: int,
        use_augment: bool = True,
    ) -> None:
        super().__init__(dataset, indices, batch_size, seed)
        self.use_augment = use_augment
        self.steps_per_epoch = len(indices) // batch_size
        self._epoch = -1
        self._order: np.ndarray | None = None

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, position = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._order = step_rng(self.seed, epoch, Stream.ORDER).permutation(len(self.labels))
            self._epoch = epoch
        chosen = torch.from_numpy(
            self._order[position * self.batch_size : (position + 1) * self.batch_size]
        )
        images = normalize(self.images[chosen], self.dataset)
        if self.use_augment:
            images = augment(images, step_rng(self.seed, step, Stream.AUGMENT))
        return images, self.labels[chosen]


class LandmarkStream(_IndexedImages):
    """Held-out landmark batches, drawn without augmentation from the landmark images."""

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = step_rng(self.seed, step, Stream.LANDMARK_BATCH)
        chosen = torch.from_numpy(rng.choice(len(self.labels), size=self.batch_size, replace=False))
        return normalize(self.images[chosen], self.dataset), self.labels[chosen]
