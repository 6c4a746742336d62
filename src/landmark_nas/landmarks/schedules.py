"""The coefficient lambda over training: zero during warm-up, then a schedule.

The schedule is counted over the steps after warm-up, so that it reaches the full
lambda exactly at the last training step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from landmark_nas.errors import ConfigError
from landmark_nas.registry import LAMBDA_SCHEDULES


@LAMBDA_SCHEDULES.register("constant")
def constant(progress: float) -> float:
    return 1.0


@LAMBDA_SCHEDULES.register("linear")
def linear(progress: float) -> float:
    return progress


@LAMBDA_SCHEDULES.register("cosine")
def cosine_increase(progress: float) -> float:
    """Half a cosine from 0 to 1: slow start, slow finish."""
    return 0.5 * (1.0 - math.cos(math.pi * progress))


@dataclass(frozen=True)
class LambdaSchedule:
    """lambda at each optimizer step (steps are 0-based)."""

    final: float
    warmup_steps: int
    total_steps: int
    shape: str = "cosine"

    def __post_init__(self) -> None:
        LAMBDA_SCHEDULES.get(self.shape)
        if self.warmup_steps >= self.total_steps:
            raise ConfigError(
                f"landmark warm-up ({self.warmup_steps} steps) leaves no regularized step "
                f"in a run of {self.total_steps} steps"
            )

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return 0.0
        # The first regularized step is 1/span of the way and the last step reaches 1.
        span = self.total_steps - self.warmup_steps
        progress = min(1.0, (step - self.warmup_steps + 1) / span)
        return self.final * LAMBDA_SCHEDULES.get(self.shape)(progress)
