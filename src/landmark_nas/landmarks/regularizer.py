"""The landmark regularizer as a component any training loop can call.

A loop asks :meth:`LandmarkRegularizer.active` whether this step is regularized
and, if so, calls :meth:`LandmarkRegularizer.penalty` with a function that returns
the super-net losses of a list of architectures on the step's held-out landmark batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from landmark_nas.errors import ConfigError
from landmark_nas.landmarks.losses import ranking_loss
from landmark_nas.landmarks.schedules import LambdaSchedule
from landmark_nas.spaces.base import Arch


class LandmarkRegularizer:
    """Pairwise ranking penalty over landmark architectures.

    Args:
        landmarks: the landmark architectures.
        accuracy: their stand-alone accuracy (any unit; only the order matters).
        schedule: lambda per step.
        pairs_per_step: m, the number of random pairs drawn per regularized step.
        loss: name of the pairwise ranking loss (see ``landmarks.losses``).
        every: regularize every ``every``-th step after warm-up.
    """

    def __init__(
        self,
        landmarks: Sequence[Arch],
        accuracy: Sequence[float],
        schedule: LambdaSchedule,
        pairs_per_step: int = 1,
        loss: str = "hinge",
        every: int = 1,
    ) -> None:
        if len(landmarks) != len(accuracy):
            raise ConfigError("landmarks and their accuracies differ in length")
        if len(landmarks) < 2:
            raise ConfigError(f"need at least 2 landmarks, got {len(landmarks)}")
        if len(set(accuracy)) < 2:
            raise ConfigError("all landmarks have the same accuracy: no pair can be ranked")
        if every < 1 or pairs_per_step < 1:
            raise ConfigError("landmark_every and landmark_pairs must be at least 1")
        self.landmarks = list(landmarks)
        self.accuracy = np.asarray(accuracy, dtype=np.float64)
        self.schedule = schedule
        self.pairs_per_step = pairs_per_step
        self.loss_name = loss
        self.loss = ranking_loss(loss)
        self.every = every

    def active(self, step: int) -> bool:
        """Whether step ``step`` (0-based) adds the penalty."""
        return (
            step >= self.schedule.warmup_steps
            and (step - self.schedule.warmup_steps) % self.every == 0
            and self.schedule(step) > 0
        )

    def sample_pairs(self, rng: np.random.Generator) -> list[tuple[Arch, Arch]]:
        """``pairs_per_step`` pairs ``(worse, better)`` of distinct landmarks.

        Pairs whose accuracies tie carry no ranking signal and are redrawn.
        """
        pairs = []
        while len(pairs) < self.pairs_per_step:
            a, b = rng.choice(len(self.landmarks), size=2, replace=False)
            if self.accuracy[a] == self.accuracy[b]:
                continue
            worse, better = (a, b) if self.accuracy[a] < self.accuracy[b] else (b, a)
            pairs.append((self.landmarks[worse], self.landmarks[better]))
        return pairs

    def penalty(
        self,
        step: int,
        losses_of: Callable[[Sequence[Arch]], Sequence[torch.Tensor]],
        rng: np.random.Generator,
    ) -> tuple[torch.Tensor, int]:
        """lambda times the summed pairwise loss, and the number of architectures scored.

        ``losses_of(archs)`` returns the super-net loss of each of ``archs`` on the
        held-out landmark batch of this step. It is called once per step with every
        distinct landmark of the drawn pairs, so an implementation may share work
        between them (``NB201SuperNet.forward_many`` runs their common stem once); a
        loop with a per-architecture loss can pass ``one_at_a_time(loss_of)``.
        """
        pairs = self.sample_pairs(rng)
        archs = list(dict.fromkeys(arch for pair in pairs for arch in pair))
        losses = dict(zip(archs, losses_of(archs), strict=True))
        total = sum(self.loss(losses[better] - losses[worse]) for worse, better in pairs)
        return self.schedule(step) * total, len(archs)


def one_at_a_time(
    loss_of: Callable[[Arch], torch.Tensor],
) -> Callable[[Sequence[Arch]], list[torch.Tensor]]:
    """A ``losses_of`` for :meth:`LandmarkRegularizer.penalty` from a per-architecture loss."""
    return lambda archs: [loss_of(arch) for arch in archs]
