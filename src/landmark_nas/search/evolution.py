"""Evolutionary search with super-net accuracy as fitness.

Regularized ("aging") evolution (Real et al., AAAI 2019): start from a random
population; each cycle, take the fittest of a random sample as parent, add one
single-edge mutation of it and retire the oldest member. The best architecture
seen is returned. Fitness is cached per canonical form, so equivalent cells are
evaluated once.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from landmark_nas.registry import SEARCH_STRATEGIES
from landmark_nas.spaces.base import Arch, SearchSpace


@dataclass
class SearchResult:
    best: Arch
    best_fitness: float
    evaluated: int
    trajectory: list[float] = field(default_factory=list)  # best fitness after each evaluation


@SEARCH_STRATEGIES.register("evolution")
def evolutionary_search(
    space: SearchSpace,
    fitness: Callable[[Arch], float],
    population_size: int,
    sample_size: int,
    cycles: int,
    rng: np.random.Generator,
    progress: Callable[[int], None] | None = None,
) -> SearchResult:
    """Run aging evolution for ``cycles`` mutations after a random population."""
    cache: dict[str, float] = {}
    best: tuple[float, Arch] | None = None
    trajectory: list[float] = []

    def evaluate(arch: Arch) -> float:
        nonlocal best
        key = space.canonical(arch)
        if key not in cache:
            cache[key] = fitness(arch)
            if progress is not None:
                progress(1)
        value = cache[key]
        if best is None or value > best[0]:
            best = (value, arch)
        trajectory.append(best[0])
        return value

    population: collections.deque[tuple[float, Arch]] = collections.deque()
    for _ in range(population_size):
        arch = space.sample(rng)
        population.append((evaluate(arch), arch))
    for _ in range(cycles):
        picks = rng.choice(len(population), size=sample_size, replace=False)
        parent = max((population[int(k)] for k in picks), key=lambda item: item[0])[1]
        child = space.mutate(parent, rng)
        population.append((evaluate(child), child))
        population.popleft()
    assert best is not None
    return SearchResult(best[1], best[0], len(cache), trajectory)
