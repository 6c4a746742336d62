"""Super-net accuracy and loss of architectures on held-out images."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from landmark_nas.benchmarks.base import Benchmark
from landmark_nas.errors import ConfigError
from landmark_nas.landmarks.selection import canonical_representatives
from landmark_nas.spaces.base import Arch


@dataclass
class ArchScores:
    """Per-architecture super-net accuracy (percent) and mean cross-entropy loss."""

    archs: list[Arch]
    accuracy: np.ndarray
    loss: np.ndarray


def select_ranking_archs(
    benchmark: Benchmark, count: int, exclude: Sequence[Arch], seed: int
) -> list[Arch]:
    """``count`` architectures of distinct canonical classes, none equivalent to ``exclude``.

    The set depends only on the benchmark, ``exclude`` and ``seed``, so every run that
    shares them ranks the same architectures.
    """
    banned = {benchmark.space.canonical(a) for a in exclude}
    pool = [
        k
        for k in canonical_representatives(benchmark)
        if benchmark.space.canonical(benchmark.archs[k]) not in banned
    ]
    if count > len(pool):
        raise ConfigError(f"ranking_archs={count} exceeds the {len(pool)} eligible architectures")
    chosen = np.sort(np.random.default_rng(seed).choice(len(pool), size=count, replace=False))
    return [benchmark.archs[pool[int(k)]] for k in chosen]


@torch.no_grad()
def score_archs(
    model: torch.nn.Module,
    archs: Sequence[Arch],
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    recalibration: Callable[[], list[torch.Tensor]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ArchScores:
    """Accuracy and loss of each architecture on ``images`` (already normalized).

    In batch-statistics mode the model runs in train mode so batch norm uses the
    evaluation batch's statistics; with ``recalibration`` the running statistics are
    recomputed for each architecture from the batches it returns.
    """
    was_training = model.training
    accuracy = np.zeros(len(archs))
    loss = np.zeros(len(archs))
    for k, arch in enumerate(archs):
        if recalibration is not None:
            model.recalibrate(arch, recalibration())
        else:
            model.train()
        correct, total_loss = 0, 0.0
        for start in range(0, len(labels), batch_size):
            x, y = images[start : start + batch_size], labels[start : start + batch_size]
            logits = model(x, arch)
            total_loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
        accuracy[k] = 100.0 * correct / len(labels)
        loss[k] = total_loss / len(labels)
        if progress is not None:
            progress(1)
    model.train(was_training)
    return ArchScores(list(archs), accuracy, loss)
