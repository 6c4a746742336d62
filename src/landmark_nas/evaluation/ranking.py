"""Ranking correlation between super-net scores and stand-alone accuracy."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class RankingMetrics:
    """Kendall tau-b, Spearman rho and precision at the top fraction (0-1 each)."""

    kendall_tau: float
    spearman_rho: float
    precision_at_top: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def precision_at_top(scores: np.ndarray, truth: np.ndarray, fraction: float) -> float:
    """Share of the true top ``fraction`` that the scores also put in their top ``fraction``."""
    k = max(1, math.ceil(fraction * len(truth)))
    predicted = set(np.argsort(-scores, kind="stable")[:k].tolist())
    actual = set(np.argsort(-truth, kind="stable")[:k].tolist())
    return len(predicted & actual) / k


def ranking_metrics(
    scores: np.ndarray, truth: np.ndarray, top_fraction: float = 0.1
) -> RankingMetrics:
    """Compare ``scores`` (higher is better) with ground-truth ``truth``.

    Correlations of constant inputs are undefined; they are reported as 0.
    """
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if scores.shape != truth.shape or scores.ndim != 1 or len(scores) < 2:
        raise ValueError("scores and truth must be 1-D arrays of the same length >= 2")
    with warnings.catch_warnings():  # constant input: reported as 0 below, not as a warning
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        tau = stats.kendalltau(scores, truth).statistic
        rho = stats.spearmanr(scores, truth).statistic
    return RankingMetrics(
        kendall_tau=0.0 if math.isnan(tau) else float(tau),
        spearman_rho=0.0 if math.isnan(rho) else float(rho),
        precision_at_top=precision_at_top(scores, truth, top_fraction),
    )
