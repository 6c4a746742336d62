"""Everything runs of one comparison share: space, ground truth, data and archs to rank.

Built once from a :class:`RunConfig` and reused by every seed and variant, so that
baseline and landmark runs see identical splits, landmarks and ranking sets.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from landmark_nas.benchmarks import Benchmark, load_benchmark
from landmark_nas.config import RunConfig
from landmark_nas.data import DataSplits, ImageDataset, load_dataset, make_splits
from landmark_nas.data.splits import normalize
from landmark_nas.errors import DataError
from landmark_nas.evaluation import select_ranking_archs
from landmark_nas.landmarks import select_landmarks
from landmark_nas.spaces import SearchSpace, create_search_space
from landmark_nas.spaces.base import Arch

logger = logging.getLogger(__name__)

BENCHMARK_ENV = "LANDMARK_NAS_BENCHMARK"


def resolve_benchmark_path(path: str | None) -> Path:
    """The benchmark file from ``--benchmark`` or ``LANDMARK_NAS_BENCHMARK``."""
    path = path or os.environ.get(BENCHMARK_ENV)
    if not path:
        raise DataError(f"no benchmark file: pass --benchmark FILE or set {BENCHMARK_ENV}")
    return Path(path).expanduser()


@dataclass
class Experiment:
    """The fixed inputs of a comparison."""

    config: RunConfig
    space: SearchSpace
    benchmark: Benchmark
    dataset: ImageDataset
    splits: DataSplits
    landmarks: list[Arch]
    ranking_archs: list[Arch]
    ranking_images: torch.Tensor
    ranking_labels: torch.Tensor

    @property
    def landmark_accuracy(self) -> list[float]:
        return [self.benchmark.accuracy_of(a) for a in self.landmarks]

    @property
    def ranking_truth(self) -> np.ndarray:
        return np.array([self.benchmark.accuracy_of(a) for a in self.ranking_archs])

    def describe(self) -> dict:
        """The data sizes and architecture sets, for logs and results files."""
        return {
            "benchmark": str(self.benchmark.source),
            "benchmark_dataset": self.benchmark.dataset,
            "split_sizes": self.splits.sizes(),
            "landmarks": [self.space.format(a) for a in self.landmarks],
            "ranking_archs": [self.space.format(a) for a in self.ranking_archs],
        }


def load_ground_truth(config: RunConfig) -> tuple[SearchSpace, Benchmark]:
    space = create_search_space(config.search_space)
    path = resolve_benchmark_path(config.benchmark)
    benchmark = load_benchmark(path, space, config.benchmark_dataset, config.benchmark_format)
    return space, benchmark


def build_experiment(config: RunConfig) -> Experiment:
    """Load the ground truth and data and fix landmarks and ranking architectures."""
    config.validate()
    space, benchmark = load_ground_truth(config)
    dataset = load_dataset(config.dataset, config.data)
    splits = make_splits(
        dataset, config.train_images, config.landmark_images, config.ranking_images
    )
    landmarks = (
        select_landmarks(
            benchmark, config.landmark_count, config.landmark_selection, config.landmark_seed
        )
        if config.landmark_count > 0
        else []
    )
    ranking_archs = select_ranking_archs(
        benchmark, config.ranking_archs, landmarks, config.ranking_seed
    )
    index = torch.from_numpy(splits.ranking)
    experiment = Experiment(
        config=config,
        space=space,
        benchmark=benchmark,
        dataset=dataset,
        splits=splits,
        landmarks=landmarks,
        ranking_archs=ranking_archs,
        ranking_images=normalize(dataset.images[index], dataset),
        ranking_labels=dataset.labels[index],
    )
    logger.info("data split sizes (images): %s", splits.sizes())
    logger.info("%d landmarks, %d ranking architectures", len(landmarks), len(ranking_archs))
    return experiment
