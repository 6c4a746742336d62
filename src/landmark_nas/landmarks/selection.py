"""Choosing the landmark architectures from a benchmark table."""

from __future__ import annotations

import numpy as np

from landmark_nas.benchmarks.base import Benchmark
from landmark_nas.errors import ConfigError
from landmark_nas.spaces.base import Arch

SELECTIONS = ("random", "even")


def select_landmarks(benchmark: Benchmark, count: int, selection: str, seed: int) -> list[Arch]:
    """``count`` landmarks with distinct canonical forms.

    ``random`` draws them uniformly from the canonical classes; ``even`` takes them
    at evenly spaced positions along the ground-truth ranking of those classes.
    """
    if selection not in SELECTIONS:
        raise ConfigError(
            f"unknown landmark_selection {selection!r} (choose from: {', '.join(SELECTIONS)})"
        )
    representatives = canonical_representatives(benchmark)
    if count > len(representatives):
        raise ConfigError(
            f"landmark_count={count} exceeds the {len(representatives)} distinct architectures"
        )
    rng = np.random.default_rng(seed)
    if selection == "random":
        chosen = rng.choice(len(representatives), size=count, replace=False)
    else:
        by_accuracy = np.argsort([benchmark.accuracy[k] for k in representatives], kind="stable")
        positions = np.linspace(0, len(by_accuracy) - 1, count).round().astype(int)
        chosen = by_accuracy[positions]
    return [benchmark.archs[representatives[int(k)]] for k in chosen]


def canonical_representatives(benchmark: Benchmark) -> list[int]:
    """The lowest benchmark index of each canonical class, in index order."""
    seen: set[str] = set()
    indices = []
    for k, arch in enumerate(benchmark.archs):
        key = benchmark.space.canonical(arch)
        if key not in seen:
            seen.add(key)
            indices.append(k)
    return indices
