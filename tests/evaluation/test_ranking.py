"""Ranking correlation between super-net scores and stand-alone accuracy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from landmark_nas.evaluation import ranking_metrics
from landmark_nas.evaluation.ranking import precision_at_top

TRUTH = np.array([93.1, 70.2, 88.0, 91.5, 60.3, 85.9, 90.0, 79.4, 92.2, 84.4])
SCORES = np.array([41.0, 12.0, 30.0, 44.0, 10.0, 30.0, 25.0, 20.0, 39.0, 33.0])


def test_correlations_agree_with_scipy_on_known_scores():
    metrics = ranking_metrics(SCORES, TRUTH)
    assert metrics.kendall_tau == pytest.approx(stats.kendalltau(SCORES, TRUTH).statistic)
    assert metrics.spearman_rho == pytest.approx(stats.spearmanr(SCORES, TRUTH).statistic)
    assert 0.5 < metrics.kendall_tau < 1.0


def test_kendall_tau_is_tau_b_with_ties():
    # By hand: 45 pairs, one tie in the scores (indices 2 and 5).
    scores = SCORES
    concordant = discordant = ties_x = 0
    for i in range(10):
        for j in range(i + 1, 10):
            sx = np.sign(scores[i] - scores[j])
            sy = np.sign(TRUTH[i] - TRUTH[j])
            if sx == 0:
                ties_x += 1
            elif sx == sy:
                concordant += 1
            else:
                discordant += 1
    tau_b = (concordant - discordant) / np.sqrt((45 - ties_x) * 45)
    assert ranking_metrics(scores, TRUTH).kendall_tau == pytest.approx(tau_b)


def test_perfect_and_reversed_orders():
    perfect = ranking_metrics(TRUTH * 2, TRUTH).to_dict()
    assert perfect == pytest.approx(
        {"kendall_tau": 1.0, "spearman_rho": 1.0, "precision_at_top": 1.0}
    )
    reversed_ = ranking_metrics(-TRUTH, TRUTH)
    assert reversed_.kendall_tau == pytest.approx(-1.0)
    assert reversed_.spearman_rho == pytest.approx(-1.0)
    assert reversed_.precision_at_top == 0.0


def test_precision_at_top_by_hand():
    # True top 3 of 10 (30 %): indices 0, 8, 3. Scores' top 3: 3, 0, 8.
    assert precision_at_top(SCORES, TRUTH, 0.3) == 1.0
    # Top 2: truth {0, 8}, scores {3, 0} -> one of two.
    assert precision_at_top(SCORES, TRUTH, 0.2) == 0.5
    # 10 % of 10 is one architecture: truth 0, scores 3.
    assert precision_at_top(SCORES, TRUTH, 0.1) == 0.0
    # A fraction below one architecture still compares the single best.
    assert precision_at_top(SCORES, TRUTH, 0.01) == 0.0
    assert precision_at_top(TRUTH, TRUTH, 0.01) == 1.0


def test_precision_rounds_the_top_count_up():
    truth = np.arange(7, dtype=float)
    scores = np.array([0, 1, 2, 3, 6, 4, 5], dtype=float)
    # ceil(0.3 * 7) = 3: truth top {6, 5, 4}, scores top {4, 6, 5}.
    assert precision_at_top(scores, truth, 0.3) == 1.0
    assert precision_at_top(scores, truth, 0.15) == 0.5  # top 2: {6, 5} vs {4, 6}


def test_constant_scores_give_zero_correlation_not_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without a warning
        metrics = ranking_metrics(np.full(10, 25.0), TRUTH)
    assert metrics.kendall_tau == 0.0 and metrics.spearman_rho == 0.0


@pytest.mark.parametrize(
    ("scores", "truth"),
    [(np.ones(3), np.ones(4)), (np.ones(1), np.ones(1)), (np.ones((2, 2)), np.ones((2, 2)))],
)
def test_mismatched_inputs_are_rejected(scores, truth):
    with pytest.raises(ValueError):
        ranking_metrics(scores, truth)
