"""The data protocol (disjoint splits from two halves) and tensor augmentation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landmark_nas.data import ImageDataset, make_splits
from landmark_nas.data.splits import augment, normalize
from landmark_nas.errors import ConfigError


def fake_dataset(count: int = 50_000) -> ImageDataset:
    """Only the number of images matters to the splits."""
    return ImageDataset(
        "fake",
        torch.zeros(count, 3, 1, 1, dtype=torch.uint8),
        torch.zeros(count, dtype=torch.int64),
        10,
        (0.5,) * 3,
        (0.25,) * 3,
    )


@pytest.fixture(scope="module")
def dataset() -> ImageDataset:
    return fake_dataset()


def test_splits_are_disjoint_and_sized_as_asked(dataset):
    splits = make_splits(dataset, train_images=1_000, landmark_images=700, ranking_images=300)
    assert splits.sizes() == {"train": 1_000, "landmark": 700, "ranking": 300}
    train, landmark, ranking = (
        set(s.tolist()) for s in (splits.train, splits.landmark, splits.ranking)
    )
    assert len(train) == 1_000 and len(landmark) == 700 and len(ranking) == 300
    assert not train & landmark and not train & ranking and not landmark & ranking
    assert all(0 <= k < 50_000 for k in train | landmark | ranking)


def test_weight_training_and_held_out_images_come_from_different_halves(dataset):
    # At full size the three sets partition the 50,000 images, so no larger training
    # set can ever reach an image that ranks or feeds landmarks.
    full = make_splits(dataset, train_images=25_000, landmark_images=23_000, ranking_images=2_000)
    everything = np.concatenate([full.train, full.landmark, full.ranking])
    assert np.array_equal(np.sort(everything), np.arange(50_000))
    held_out = set(full.landmark.tolist()) | set(full.ranking.tolist())
    for train_images in (10, 5_000, 25_000):
        small = make_splits(dataset, train_images, landmark_images=100, ranking_images=50)
        assert set(small.train.tolist()) <= set(full.train.tolist())
        assert set(small.landmark.tolist()) | set(small.ranking.tolist()) <= held_out


def test_ranking_images_do_not_depend_on_the_other_sizes(dataset):
    a = make_splits(dataset, train_images=100, landmark_images=100, ranking_images=400)
    b = make_splits(dataset, train_images=9_000, landmark_images=20_000, ranking_images=400)
    np.testing.assert_array_equal(a.ranking, b.ranking)
    bigger = make_splits(dataset, train_images=100, landmark_images=100, ranking_images=800)
    assert set(a.ranking.tolist()) <= set(bigger.ranking.tolist())


def test_splits_are_the_same_every_time(dataset):
    a = make_splits(dataset, 500, 300, 200)
    b = make_splits(dataset, 500, 300, 200)
    for role in ("train", "landmark", "ranking"):
        np.testing.assert_array_equal(getattr(a, role), getattr(b, role))


@pytest.mark.parametrize(
    ("sizes", "named"),
    [
        ((25_001, 100, 100), "train_images=25001"),
        ((0, 100, 100), "train_images=0"),
        ((100, 100, 25_000), "ranking_images=25000"),
        ((100, 24_001, 1_000), "landmark_images=24001"),
        ((100, 0, 1_000), "landmark_images=0"),
    ],
)
def test_impossible_sizes_are_config_errors_naming_the_size(dataset, sizes, named):
    with pytest.raises(ConfigError, match=named):
        make_splits(dataset, *sizes)


# ---------------------------------------------------------------- normalize / augment
def test_normalize_uses_the_dataset_statistics():
    dataset = fake_dataset(2)
    images = torch.full((2, 3, 4, 4), 255 // 2 + 64, dtype=torch.uint8)
    out = normalize(images, dataset)
    expected = (float(images[0, 0, 0, 0]) - 0.5 * 255) / (0.25 * 255)
    assert out.dtype == torch.float32
    assert torch.allclose(out, torch.full_like(out, expected))


@pytest.fixture
def batch() -> torch.Tensor:
    return torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))


def test_augment_keeps_the_shape_and_is_deterministic_for_a_seed(batch):
    a = augment(batch, np.random.default_rng(5))
    b = augment(batch, np.random.default_rng(5))
    c = augment(batch, np.random.default_rng(6))
    assert a.shape == batch.shape and a.dtype == batch.dtype
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert not torch.equal(a, batch)


def test_augment_without_padding_only_flips_horizontally(batch):
    out = augment(batch, np.random.default_rng(1), padding=0)
    flipped = 0
    for image, result in zip(batch, out, strict=True):
        if torch.equal(result, image.flip(2)):
            flipped += 1
        else:
            assert torch.equal(result, image)
    assert 0 < flipped < len(batch)


def test_augment_output_is_a_shifted_window_of_the_zero_padded_image(batch):
    out = augment(batch, np.random.default_rng(2), padding=4)
    padded = torch.nn.functional.pad(batch, (4, 4, 4, 4))
    for image, result in zip(padded, out, strict=True):
        windows = [
            window
            for dy in range(9)
            for dx in range(9)
            for window in (
                image[:, dy : dy + 32, dx : dx + 32],
                image[:, dy : dy + 32, dx : dx + 32].flip(2),
            )
        ]
        assert any(torch.equal(result, window) for window in windows)
