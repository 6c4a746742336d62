"""Aging evolution with a fitness function standing in for super-net accuracy."""

from __future__ import annotations

import itertools

import numpy as np

from landmark_nas.registry import SEARCH_STRATEGIES
from landmark_nas.search import evolutionary_search
from landmark_nas.spaces import create_search_space
from landmark_nas.spaces.nb201 import CONV3

SPACE = create_search_space("nb201")


def conv3_count(arch) -> float:
    """A fitness with a unique optimum (all nor_conv_3x3) that mutation can climb."""
    return float(sum(op == CONV3 for op in arch))


def run(fitness, seed=0, population=10, sample=3, cycles=60, progress=None):
    return evolutionary_search(
        SPACE, fitness, population, sample, cycles, np.random.default_rng(seed), progress
    )


def test_evolution_climbs_to_the_optimum_of_a_simple_fitness():
    result = run(conv3_count, cycles=300)
    assert result.best == (CONV3,) * 6
    assert result.best_fitness == 6.0


def test_the_best_is_the_fittest_arch_evaluated_and_the_trajectory_never_drops():
    evaluated = {}

    def fitness(arch):
        value = conv3_count(arch) + 0.01 * arch[0]
        evaluated[SPACE.canonical(arch)] = value
        return value

    result = run(fitness, cycles=40)
    assert result.best_fitness == max(evaluated.values())
    assert len(result.trajectory) == 10 + 40
    assert all(b >= a for a, b in itertools.pairwise(result.trajectory))
    assert result.trajectory[-1] == result.best_fitness


def test_fitness_is_evaluated_once_per_canonical_class():
    calls = []

    def fitness(arch):
        calls.append(SPACE.canonical(arch))
        return conv3_count(arch)

    ticks = []
    result = run(fitness, cycles=80, progress=ticks.append)
    assert len(calls) == len(set(calls)) == result.evaluated
    assert len(ticks) == result.evaluated
    assert result.evaluated <= 10 + 80


def test_search_is_reproducible_for_a_seed():
    a = run(conv3_count, seed=4, cycles=20)
    b = run(conv3_count, seed=4, cycles=20)
    assert (a.best, a.best_fitness, a.trajectory) == (b.best, b.best_fitness, b.trajectory)


def test_evolution_is_registered_as_a_search_strategy():
    assert SEARCH_STRATEGIES.get("evolution") is evolutionary_search
