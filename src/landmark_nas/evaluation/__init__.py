"""Scoring architectures with a super-net and comparing rankings with the ground truth."""

from landmark_nas.evaluation.ranking import RankingMetrics, ranking_metrics
from landmark_nas.evaluation.scorer import ArchScores, score_archs, select_ranking_archs

__all__ = ["ArchScores", "RankingMetrics", "ranking_metrics", "score_archs", "select_ranking_archs"]
