"""Pairwise ranking losses of ``gap = L(better) - L(worse)``."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from landmark_nas.errors import ConfigError
from landmark_nas.landmarks import ranking_loss

GAPS = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0])


def test_hinge_is_zero_for_ordered_pairs_and_the_gap_otherwise():
    assert ranking_loss("hinge")(GAPS).tolist() == [0.0, 0.0, 0.0, 0.5, 3.0]


def test_softplus_is_log_one_plus_exp():
    expected = [math.log1p(math.exp(g)) for g in GAPS.tolist()]
    assert ranking_loss("softplus")(GAPS).tolist() == pytest.approx(expected, rel=1e-6)


def test_logistic_is_bounded_by_one():
    values = ranking_loss("logistic")(torch.tensor([-50.0, 0.0, 50.0])).tolist()
    assert values == pytest.approx([0.0, 0.5, 1.0], abs=1e-6)


@pytest.mark.parametrize("name", ["hinge", "softplus", "logistic"])
def test_every_loss_grows_with_the_gap(name):
    values = ranking_loss(name)(GAPS).tolist()
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert values[-1] > values[0]


@pytest.mark.parametrize("name", ["hinge", "softplus", "logistic"])
def test_the_gradient_pushes_a_misordered_pair_apart(name):
    gap = torch.tensor(0.5, requires_grad=True)
    ranking_loss(name)(gap).backward()
    assert gap.grad > 0


def test_an_unknown_loss_is_a_config_error_listing_the_losses():
    with pytest.raises(ConfigError, match="hinge, logistic, softplus"):
        ranking_loss("margin")
