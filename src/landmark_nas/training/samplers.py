"""Architecture samplers: which path of the super-net trains at each step.

Uniform single-path sampling (SPOS, Guo et al., 2020) is the default; learned
samplers register under their own name with the same ``sample(rng)`` contract.
"""

from __future__ import annotations

import numpy as np

from landmark_nas.registry import SAMPLERS
from landmark_nas.spaces.base import Arch, SearchSpace


@SAMPLERS.register("uniform")
class UniformSampler:
    """Every architecture of the space with equal probability."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def sample(self, rng: np.random.Generator) -> Arch:
        return self.space.sample(rng)


def create_sampler(name: str, space: SearchSpace):
    return SAMPLERS.get(name)(space)
