"""Pairwise ranking losses, side by side in one table.

Each function takes ``gap = L(better) - L(worse)``, the super-net loss of the
stand-alone better landmark minus that of the worse one, and returns a penalty
that is large when the gap is positive (the pair is ranked the wrong way round).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from landmark_nas.registry import RANKING_LOSSES


@RANKING_LOSSES.register("hinge")
def hinge(gap: torch.Tensor) -> torch.Tensor:
    """``max(0, gap)``: zero once the pair is ordered; the published default."""
    return F.relu(gap)


@RANKING_LOSSES.register("softplus")
def softplus(gap: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(gap))``: a smooth hinge that keeps widening ordered pairs."""
    return F.softplus(gap)


@RANKING_LOSSES.register("logistic")
def logistic(gap: torch.Tensor) -> torch.Tensor:
    """``sigmoid(gap)``: bounded, so one badly mis-ordered pair cannot dominate."""
    return torch.sigmoid(gap)


def ranking_loss(name: str):
    """The pairwise loss registered as ``name``."""
    return RANKING_LOSSES.get(name)
