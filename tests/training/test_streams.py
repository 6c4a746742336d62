"""Batches addressed by step: a resumed run must see exactly the data it would have seen."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landmark_nas.data import ImageDataset
from landmark_nas.errors import ConfigError
from landmark_nas.registry import SAMPLERS
from landmark_nas.spaces import create_search_space
from landmark_nas.training import LandmarkStream, TrainStream, create_sampler, step_rng
from landmark_nas.training.streams import Stream


@pytest.fixture(scope="module")
def dataset() -> ImageDataset:
    # Image k is filled with k % 256 and labelled k, so a batch reveals its indices.
    count = 200
    values = (torch.arange(count) % 256).to(torch.uint8)
    images = values.view(-1, 1, 1, 1).expand(count, 3, 4, 4).contiguous()
    return ImageDataset("fake", images, torch.arange(count), 10, (0.0,) * 3, (1 / 255,) * 3)


INDICES = np.arange(0, 200, 2)  # 100 training images: the even ones


def test_each_epoch_visits_every_training_image_once(dataset):
    stream = TrainStream(dataset, INDICES, batch_size=30, seed=0, use_augment=False)
    assert stream.steps_per_epoch == 3  # the last partial batch is dropped
    for epoch in range(2):
        seen = torch.cat([stream.batch(epoch * 3 + k)[1] for k in range(3)]).tolist()
        assert len(seen) == len(set(seen)) == 90
        assert set(seen) <= set(INDICES.tolist())


def test_epochs_are_shuffled_differently(dataset):
    stream = TrainStream(dataset, INDICES, batch_size=25, seed=0, use_augment=False)
    assert not torch.equal(stream.batch(0)[1], stream.batch(4)[1])


def test_a_batch_depends_only_on_seed_and_step(dataset):
    walked = TrainStream(dataset, INDICES, batch_size=16, seed=3, use_augment=True)
    for step in range(20):
        walked.batch(step)
    fresh = TrainStream(dataset, INDICES, batch_size=16, seed=3, use_augment=True)
    for step in (17, 2, 17):  # out of order, as after a resume
        a_images, a_labels = walked.batch(step)
        b_images, b_labels = fresh.batch(step)
        assert torch.equal(a_images, b_images) and torch.equal(a_labels, b_labels)
    other_seed = TrainStream(dataset, INDICES, batch_size=16, seed=4, use_augment=True)
    assert not torch.equal(other_seed.batch(2)[1], fresh.batch(2)[1])


def test_batches_are_normalized_images_of_their_labels(dataset):
    stream = TrainStream(dataset, INDICES, batch_size=10, seed=0, use_augment=False)
    images, labels = stream.batch(1)
    expected = (labels % 256).float().view(-1, 1, 1, 1).expand_as(images)
    assert torch.allclose(images, expected)  # mean 0, std 1/255: back to pixel values


def test_landmark_batches_come_from_the_landmark_images_only(dataset):
    landmark = np.arange(1, 200, 2)
    stream = LandmarkStream(dataset, landmark, batch_size=20, seed=0)
    for step in range(10):
        images, labels = stream.batch(step)
        assert len(set(labels.tolist())) == 20
        assert set(labels.tolist()) <= set(landmark.tolist())
    assert torch.equal(stream.batch(5)[1], LandmarkStream(dataset, landmark, 20, 0).batch(5)[1])
    assert not torch.equal(stream.batch(5)[1], stream.batch(6)[1])


def test_step_generators_are_independent_per_stream_and_step():
    draws = {
        (step, stream): step_rng(0, step, stream).integers(1 << 30)
        for step in range(5)
        for stream in Stream
    }
    assert len(set(draws.values())) == len(draws)
    assert step_rng(0, 3, Stream.ARCH).integers(1 << 30) == draws[(3, Stream.ARCH)]


def test_the_uniform_sampler_draws_from_the_space():
    space = create_search_space("nb201")
    sampler = create_sampler("uniform", space)
    archs = [sampler.sample(np.random.default_rng(k)) for k in range(300)]
    assert len(set(archs)) > 290
    assert "uniform" in SAMPLERS
    with pytest.raises(ConfigError, match="uniform"):
        create_sampler("learned", space)
