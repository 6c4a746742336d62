"""Which architectures are ranked, and how the super-net scores them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from landmark_nas.errors import ConfigError
from landmark_nas.evaluation import score_archs, select_ranking_archs
from landmark_nas.landmarks import select_landmarks
from landmark_nas.spaces.nb201 import CONV1, CONV3, NONE, POOL, SKIP
from landmark_nas.supernet import create_supernet


# ---------------------------------------------------------------- ranking set
def test_ranking_archs_exclude_the_landmark_classes(nb201_benchmark):
    landmarks = select_landmarks(nb201_benchmark, 300, "random", seed=0)
    banned = {nb201_benchmark.space.canonical(a) for a in landmarks}
    archs = select_ranking_archs(nb201_benchmark, 2_000, landmarks, seed=0)
    keys = [nb201_benchmark.space.canonical(a) for a in archs]
    assert len(set(keys)) == 2_000
    assert not banned & set(keys)


def test_ranking_archs_share_no_benchmark_class_with_landmarks(nb201_benchmark):
    unique = nb201_benchmark.table_canonical
    landmarks = select_landmarks(nb201_benchmark, 300, "random", seed=0)
    archs = select_ranking_archs(nb201_benchmark, 2_000, landmarks, seed=0)
    landmark_classes = {unique[nb201_benchmark.index(a)] for a in landmarks}
    ranked_classes = [unique[nb201_benchmark.index(a)] for a in archs]
    assert len(set(ranked_classes)) == len(ranked_classes)
    assert not landmark_classes & set(ranked_classes)


def test_ranking_archs_are_deterministic_and_depend_on_the_seed(nb201_benchmark):
    landmarks = select_landmarks(nb201_benchmark, 30, "random", seed=0)
    a = select_ranking_archs(nb201_benchmark, 100, landmarks, seed=0)
    assert a == select_ranking_archs(nb201_benchmark, 100, list(landmarks), seed=0)
    assert a != select_ranking_archs(nb201_benchmark, 100, landmarks, seed=1)
    indices = [nb201_benchmark.index(arch) for arch in a]
    assert indices == sorted(indices)


def test_too_many_ranking_archs_is_a_config_error(nb201_benchmark):
    with pytest.raises(ConfigError, match="ranking_archs=20000"):
        select_ranking_archs(nb201_benchmark, 20_000, [], seed=0)


# ---------------------------------------------------------------- scoring
ARCHS = [(CONV3,) * 6, (SKIP, NONE, NONE, CONV1, POOL, NONE), (NONE,) * 6]


@pytest.fixture
def data():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(20, 3, 16, 16, generator=generator), torch.randint(
        0, 10, (20,), generator=generator
    )


def test_scores_are_accuracy_percent_and_mean_loss_per_arch(data):
    images, labels = data
    torch.manual_seed(0)
    net = create_supernet("nb201", 4, 1, 10)
    net.eval()
    scores = score_archs(net, ARCHS, images, labels, batch_size=7)
    assert scores.archs == ARCHS
    net.train()
    with torch.no_grad():
        for k, arch in enumerate(ARCHS):
            # Batch statistics per evaluation batch of 7, 7 and 6 images.
            logits = torch.cat([net(images[s : s + 7], arch) for s in range(0, 20, 7)])
            loss = F.cross_entropy(logits, labels).item()
            accuracy = 100.0 * (logits.argmax(1) == labels).float().mean().item()
            assert scores.loss[k] == pytest.approx(loss, rel=1e-5)
            assert scores.accuracy[k] == pytest.approx(accuracy)


def test_scoring_restores_the_training_flag_and_reports_progress(data):
    images, labels = data
    net = create_supernet("nb201", 4, 1, 10)
    ticks = []
    for training in (True, False):
        net.train(training)
        score_archs(net, ARCHS, images, labels, batch_size=20, progress=ticks.append)
        assert net.training == training
    assert ticks == [1] * 6


def test_scoring_recalibrates_each_arch_when_asked(data):
    images, labels = data
    torch.manual_seed(0)
    net = create_supernet("nb201", 4, 1, 10, bn_mode="recalibrate")
    calls = []

    def batches():
        calls.append(1)
        return [images[:10], images[10:]]

    with_recalibration = score_archs(net, ARCHS, images, labels, 20, recalibration=batches)
    assert len(calls) == len(ARCHS)
    again = score_archs(net, ARCHS, images, labels, 20, recalibration=batches)
    np.testing.assert_array_equal(with_recalibration.loss, again.loss)
