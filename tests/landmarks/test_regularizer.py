"""The landmark regularizer: pair sampling, the penalty value and when it applies."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from landmark_nas.errors import ConfigError
from landmark_nas.landmarks import LambdaSchedule, LandmarkRegularizer, one_at_a_time

# Six stand-in landmarks (any hashable arch works) and their stand-alone accuracies.
LANDMARKS = [(k,) * 6 for k in range(6)]
ACCURACY = [70.0, 93.0, 85.0, 60.0, 91.0, 88.0]
# Super-net losses: mostly lower for better landmarks, but 2 and 5 are swapped.
LOSSES = {arch: loss for arch, loss in zip(LANDMARKS, [2.0, 0.4, 0.9, 2.5, 0.6, 1.1], strict=True)}


def make_regularizer(final=10.0, warmup=0, total=100, shape="constant", **kwargs):
    schedule = LambdaSchedule(final, warmup, total, shape)
    return LandmarkRegularizer(LANDMARKS, ACCURACY, schedule, **kwargs)


def test_pairs_are_ordered_worse_then_better_by_stand_alone_accuracy():
    regularizer = make_regularizer(pairs_per_step=4)
    accuracy = dict(zip(LANDMARKS, ACCURACY, strict=True))
    seen = set()
    for seed in range(200):
        pairs = regularizer.sample_pairs(np.random.default_rng(seed))
        assert len(pairs) == 4
        for worse, better in pairs:
            assert worse != better
            assert accuracy[worse] < accuracy[better]
            seen.add(frozenset((worse, better)))
    assert len(seen) == 15  # every pair of the six landmarks comes up


def test_pairs_of_tied_accuracy_are_never_drawn():
    schedule = LambdaSchedule(1.0, 0, 10, "constant")
    regularizer = LandmarkRegularizer(LANDMARKS[:3], [80.0, 80.0, 90.0], schedule)
    for seed in range(100):
        ((worse, better),) = regularizer.sample_pairs(np.random.default_rng(seed))
        assert better == LANDMARKS[2]


def test_pair_sampling_is_reproducible_for_a_seed():
    regularizer = make_regularizer(pairs_per_step=3)
    a = regularizer.sample_pairs(np.random.default_rng([4, 2]))
    b = regularizer.sample_pairs(np.random.default_rng([4, 2]))
    assert a == b


@pytest.mark.parametrize("loss", ["hinge", "softplus", "logistic"])
def test_penalty_is_lambda_times_the_summed_pair_loss(loss):
    regularizer = make_regularizer(
        final=10.0, warmup=5, total=21, shape="linear", pairs_per_step=3, loss=loss
    )
    calls = []

    def loss_of(arch):
        calls.append(arch)
        return torch.tensor(LOSSES[arch])

    step = 13
    pairs = regularizer.sample_pairs(np.random.default_rng(7))
    penalty, passes = regularizer.penalty(step, one_at_a_time(loss_of), np.random.default_rng(7))

    pair_loss = {
        "hinge": lambda g: max(0.0, g),
        "softplus": lambda g: np.log1p(np.exp(g)),
        "logistic": lambda g: 1 / (1 + np.exp(-g)),
    }[loss]
    by_hand = sum(pair_loss(LOSSES[better] - LOSSES[worse]) for worse, better in pairs)
    lam = 10.0 * (13 - 5 + 1) / (21 - 5)
    assert float(penalty) == pytest.approx(lam * by_hand, rel=1e-6)
    distinct = {arch for pair in pairs for arch in pair}
    assert passes == len(distinct) == len(calls)  # each landmark evaluated once per step
    assert set(calls) == distinct


def test_hinge_penalty_counts_only_misordered_pairs():
    # Landmark 5 (88 %) has a higher loss than 2 (85 %): only that pair is penalized.
    schedule = LambdaSchedule(2.0, 0, 10, "constant")
    regularizer = LandmarkRegularizer([LANDMARKS[2], LANDMARKS[5]], [85.0, 88.0], schedule)
    penalty, _ = regularizer.penalty(
        3, one_at_a_time(lambda a: torch.tensor(LOSSES[a])), np.random.default_rng(0)
    )
    assert float(penalty) == pytest.approx(2.0 * (1.1 - 0.9))
    ordered = LandmarkRegularizer([LANDMARKS[1], LANDMARKS[3]], [93.0, 60.0], schedule)
    penalty, _ = ordered.penalty(
        3, one_at_a_time(lambda a: torch.tensor(LOSSES[a])), np.random.default_rng(0)
    )
    assert float(penalty) == 0.0


def test_penalty_gradient_lowers_the_better_landmarks_loss():
    schedule = LambdaSchedule(1.0, 0, 10, "constant")
    weights = {
        LANDMARKS[0]: torch.tensor(1.0, requires_grad=True),
        LANDMARKS[1]: torch.tensor(2.0, requires_grad=True),
    }
    regularizer = LandmarkRegularizer(list(weights), [50.0, 90.0], schedule)
    penalty, _ = regularizer.penalty(
        0, one_at_a_time(lambda a: weights[a] * 1.0), np.random.default_rng(0)
    )
    penalty.backward()
    assert weights[LANDMARKS[1]].grad == 1.0  # better landmark: descend its loss
    assert weights[LANDMARKS[0]].grad == -1.0


def test_active_only_after_warm_up_and_on_every_kth_step():
    regularizer = make_regularizer(warmup=10, total=40, shape="constant", every=3)
    active = [step for step in range(40) if regularizer.active(step)]
    assert active == list(range(10, 40, 3))


def test_active_from_the_first_step_after_warm_up():
    regularizer = make_regularizer(warmup=10, total=40, shape="cosine", every=1)
    active = [step for step in range(40) if regularizer.active(step)]
    assert active == list(range(10, 40))  # lambda is already positive at the first step


@pytest.mark.parametrize(
    ("landmarks", "accuracy", "kwargs", "named"),
    [
        (LANDMARKS[:1], ACCURACY[:1], {}, "at least 2"),
        (LANDMARKS, ACCURACY[:3], {}, "differ in length"),
        (LANDMARKS, ACCURACY, {"every": 0}, "landmark_every"),
        (LANDMARKS, ACCURACY, {"pairs_per_step": 0}, "landmark_pairs"),
        (LANDMARKS, ACCURACY, {"loss": "margin"}, "'margin'"),
    ],
)
def test_bad_settings_are_config_errors(landmarks, accuracy, kwargs, named):
    schedule = LambdaSchedule(1.0, 0, 10)
    with pytest.raises(ConfigError, match=named):
        LandmarkRegularizer(landmarks, accuracy, schedule, **kwargs)


def test_landmarks_that_all_tie_are_a_config_error():
    with pytest.raises(ConfigError):
        LandmarkRegularizer(LANDMARKS[:3], [80.0, 80.0, 80.0], LambdaSchedule(1.0, 0, 10))
