"""The data protocol: which images train weights, which feed landmarks, which rank.

Following NAS-Bench-201, the training images are split in two halves with a fixed
seed. The super-net's weights train on (a subset of) the first half. The second
half is held out from weight training: ranking images come first in it, landmark
batches are drawn from the rest, so the images that rank architectures took no
part in any training step, landmark batches included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from landmark_nas.data.base import ImageDataset
from landmark_nas.errors import ConfigError

SPLIT_SEED = 0


@dataclass
class DataSplits:
    """Index arrays into an :class:`ImageDataset` for each role."""

    train: np.ndarray
    landmark: np.ndarray
    ranking: np.ndarray

    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "landmark": len(self.landmark),
            "ranking": len(self.ranking),
        }


def make_splits(
    dataset: ImageDataset,
    train_images: int,
    landmark_images: int,
    ranking_images: int,
) -> DataSplits:
    """Disjoint index sets for weight training, landmark batches and ranking.

    Sizes are in images; a size larger than its half is a configuration error.
    """
    order = np.random.default_rng(SPLIT_SEED).permutation(len(dataset))
    half = len(order) // 2
    first, second = order[:half], order[half:]
    if not 0 < train_images <= len(first):
        raise ConfigError(f"train_images={train_images} must be between 1 and {len(first)}")
    if not 0 < ranking_images < len(second):
        raise ConfigError(
            f"ranking_images={ranking_images} must be between 1 and {len(second) - 1}"
        )
    available = len(second) - ranking_images
    if not 0 < landmark_images <= available:
        raise ConfigError(
            f"landmark_images={landmark_images} must be between 1 and {available} "
            f"(the held-out half minus {ranking_images} ranking images)"
        )
    return DataSplits(
        train=np.sort(first[:train_images]),
        landmark=np.sort(second[ranking_images : ranking_images + landmark_images]),
        ranking=np.sort(second[:ranking_images]),
    )


def normalize(images: torch.Tensor, dataset: ImageDataset) -> torch.Tensor:
    """uint8 ``[B, C, H, W]`` to float32 normalized by the dataset's mean and std."""
    mean = torch.tensor(dataset.mean).view(1, -1, 1, 1) * 255.0
    std = torch.tensor(dataset.std).view(1, -1, 1, 1) * 255.0
    return (images.float() - mean) / std


def augment(images: torch.Tensor, rng: np.random.Generator, padding: int = 4) -> torch.Tensor:
    """Random pad-crop and horizontal flip of a normalized batch, as tensor operations.

    Padding is zero in normalized space (the mean colour).
    """
    batch, _, height, width = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    offset_y = torch.from_numpy(rng.integers(0, 2 * padding + 1, size=batch))
    offset_x = torch.from_numpy(rng.integers(0, 2 * padding + 1, size=batch))
    rows = (offset_y[:, None] + torch.arange(height)[None, :])[:, None, :, None]
    cols = (offset_x[:, None] + torch.arange(width)[None, :])[:, None, None, :]
    channels = torch.arange(images.shape[1])[None, :, None, None]
    samples = torch.arange(batch)[:, None, None, None]
    cropped = padded[samples, channels, rows, cols]
    flip = torch.from_numpy(rng.random(batch) < 0.5)[:, None, None, None]
    return torch.where(flip, cropped.flip(3), cropped).contiguous()
