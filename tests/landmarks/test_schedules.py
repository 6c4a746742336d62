"""The lambda schedule: zero during warm-up, then up to the full value at the last step."""

from __future__ import annotations

import itertools
import math

import pytest

from landmark_nas.errors import ConfigError
from landmark_nas.landmarks import LambdaSchedule


def test_lambda_is_zero_during_warm_up_and_exactly_final_at_the_last_step():
    schedule = LambdaSchedule(final=10.0, warmup_steps=30, total_steps=100, shape="cosine")
    assert [schedule(step) for step in range(30)] == [0.0] * 30
    assert 0.0 < schedule(30) < 0.01  # the first regularized step is 1/70 of the way
    assert schedule(99) == 10.0
    assert schedule(1_000) == 10.0


def test_cosine_increases_slowly_then_fast_then_slowly():
    schedule = LambdaSchedule(final=1.0, warmup_steps=0, total_steps=100, shape="cosine")
    values = [schedule(step) for step in range(100)]
    assert all(b > a for a, b in itertools.pairwise(values))
    assert values[49] == pytest.approx(0.5)  # step 49 is the 50th of 100: progress 0.5
    assert values[9] == pytest.approx(0.5 * (1 - math.cos(math.pi * 0.1)))
    assert values[9] < 0.1 * values[-1]


def test_linear_grows_in_equal_steps():
    schedule = LambdaSchedule(final=5.0, warmup_steps=10, total_steps=15, shape="linear")
    assert [schedule(step) for step in range(9, 15)] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


def test_constant_is_final_right_after_warm_up():
    schedule = LambdaSchedule(final=2.5, warmup_steps=3, total_steps=8, shape="constant")
    assert [schedule(step) for step in range(8)] == [0.0] * 3 + [2.5] * 5


def test_a_warm_up_covering_the_run_is_a_config_error():
    with pytest.raises(ConfigError, match="10 steps"):
        LambdaSchedule(final=1.0, warmup_steps=10, total_steps=10)


def test_an_unknown_shape_is_a_config_error_listing_the_shapes():
    with pytest.raises(ConfigError, match="cosine"):
        LambdaSchedule(final=1.0, warmup_steps=0, total_steps=10, shape="step")


@pytest.mark.parametrize("shape", ["cosine", "linear"])
def test_full_lambda_at_the_last_step_even_with_one_step_after_warm_up(shape):
    schedule = LambdaSchedule(final=10.0, warmup_steps=9, total_steps=10, shape=shape)
    assert schedule(9) == 10.0
