"""Choosing landmark architectures from the real NAS-Bench-201 table."""

from __future__ import annotations

import numpy as np
import pytest

from landmark_nas.errors import ConfigError
from landmark_nas.landmarks import select_landmarks
from landmark_nas.landmarks.selection import canonical_representatives

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("selection", ["random", "even"])
def test_landmarks_are_distinct_canonical_classes(nb201_benchmark, selection):
    landmarks = select_landmarks(nb201_benchmark, 200, selection, seed=0)
    assert len(landmarks) == 200
    assert len({nb201_benchmark.space.canonical(a) for a in landmarks}) == 200


def test_landmarks_are_reproducible_for_a_seed_and_change_with_it(nb201_benchmark):
    a = select_landmarks(nb201_benchmark, 30, "random", seed=0)
    assert a == select_landmarks(nb201_benchmark, 30, "random", seed=0)
    assert a != select_landmarks(nb201_benchmark, 30, "random", seed=1)


def test_even_landmarks_span_the_accuracy_range_in_order(nb201_benchmark):
    landmarks = select_landmarks(nb201_benchmark, 11, "even", seed=0)
    accuracy = [nb201_benchmark.accuracy_of(a) for a in landmarks]
    assert accuracy == sorted(accuracy)
    assert accuracy[0] == pytest.approx(float(nb201_benchmark.accuracy.min()))
    assert accuracy[-1] == pytest.approx(float(nb201_benchmark.accuracy.max()))
    # Evenly spaced in rank: the middle landmark sits near the median class.
    median = np.median(
        [nb201_benchmark.accuracy[k] for k in canonical_representatives(nb201_benchmark)]
    )
    assert abs(accuracy[5] - median) < 1.0


def test_random_landmarks_spread_over_the_table(nb201_benchmark):
    landmarks = select_landmarks(nb201_benchmark, 100, "random", seed=3)
    indices = [nb201_benchmark.index(a) for a in landmarks]
    assert min(indices) < 2_000 and max(indices) > 13_000


def test_canonical_representatives_are_the_first_index_of_each_class(nb201_benchmark):
    representatives = canonical_representatives(nb201_benchmark)
    assert representatives == sorted(representatives)
    assert representatives[0] == 0
    keys = [nb201_benchmark.space.canonical(nb201_benchmark.archs[k]) for k in representatives]
    assert len(set(keys)) == len(keys)
    first_seen = {}
    for k, arch in enumerate(nb201_benchmark.archs[:500]):
        first_seen.setdefault(nb201_benchmark.space.canonical(arch), k)
    assert sorted(first_seen.values()) == [k for k in representatives if k < 500]


def test_more_landmarks_than_architectures_is_a_config_error(nb201_benchmark):
    with pytest.raises(ConfigError, match="landmark_count=100000"):
        select_landmarks(nb201_benchmark, 100_000, "random", seed=0)


def test_more_landmarks_than_the_6466_distinct_cells_is_a_config_error(nb201_benchmark):
    with pytest.raises(ConfigError, match="6466"):
        select_landmarks(nb201_benchmark, 6_467, "random", seed=0)


def test_an_unknown_selection_is_a_config_error(nb201_benchmark):
    with pytest.raises(ConfigError, match="'best'"):
        select_landmarks(nb201_benchmark, 5, "best", seed=0)
