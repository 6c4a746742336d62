"""The NAS-Bench-201 space: string format, enumeration, canonical forms, live edges."""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict

import numpy as np
import pytest

from landmark_nas.errors import ArchitectureError, ConfigError
from landmark_nas.spaces import create_search_space
from landmark_nas.spaces.nb201 import (
    CONV1,
    CONV3,
    EDGES,
    NONE,
    OPS,
    POOL,
    SKIP,
    canonical_arch,
    edge_index,
    format_arch,
    live_edges,
    parse_arch,
)
from tests.helpers import ARCH_1

CANONICAL_BUG = (
    "BUG: spaces/nb201.py canonical_arch wraps a zero node in an op, e.g. '(#)@nor_conv_3x3', "
    "where the benchmark's UniqueString writes '#': 2,475 rows differ, 7,930 classes, not 6,466"
)


def arch_of(ops: dict[tuple[int, int], int]) -> tuple[int, ...]:
    """An arch from ``{(source, target): op}``; unnamed edges are ``none``."""
    return tuple(ops.get(edge, NONE) for edge in EDGES)


@pytest.fixture(scope="module")
def space():
    return create_search_space("nb201")


@pytest.fixture(scope="module")
def csv_rows(benchmark_csv) -> list[dict[str, str]]:
    with open(benchmark_csv, newline="") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------- string format
def test_every_arch_round_trips_through_its_string(space):
    strings = set()
    for arch in space.enumerate():
        text = space.format(arch)
        assert space.parse(text) == arch
        strings.add(text)
    assert len(strings) == 15_625


def test_enumerate_gives_each_of_the_15625_archs_once(space):
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == space.size == 15_625
    assert all(len(a) == 6 and all(0 <= op < len(OPS) for op in a) for a in archs)


def test_format_matches_the_benchmark_string_layout():
    arch = arch_of(
        {(0, 1): CONV3, (0, 2): CONV3, (1, 2): POOL, (0, 3): SKIP, (1, 3): CONV3, (2, 3): SKIP}
    )
    assert format_arch(arch) == ARCH_1
    assert [edge_index(s, t) for s, t in EDGES] == list(range(6))


def test_every_benchmark_string_parses_and_formats_back_unchanged(csv_rows):
    for row in csv_rows:
        text = row["ArchitectureString"]
        assert format_arch(parse_arch(text)) == text


def test_parse_ignores_surrounding_whitespace():
    assert parse_arch(f"  {ARCH_1}\n") == parse_arch(ARCH_1)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", ["unknown op", "'conv_5x5'"]),
        ("|none~0|+|none~0|max_pool~1|+|none~0|none~1|none~2|", ["unknown op", "'max_pool'"]),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", ["'none~1'", "node 0"]),
        ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", ["'none~0'", "node 1"]),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none|", ["'none'", "node 2"]),
        ("|none~0|+|none~0|none~1|", ["3 node groups", "found 2"]),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", ["found 4"]),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", ["node 2", "needs 2 inputs", "got 1"]),
        ("none~0+|none~0|none~1|+|none~0|none~1|none~2|", ["node 1", "'none~0'"]),
        ("", ["found 1"]),
    ],
)
def test_bad_strings_raise_an_error_naming_the_bad_part(text, named):
    with pytest.raises(ArchitectureError) as error:
        parse_arch(text)
    for part in named:
        assert part in str(error.value)


def test_unknown_search_space_is_a_config_error_listing_the_choices():
    with pytest.raises(ConfigError, match="nb201"):
        create_search_space("darts")


# ---------------------------------------------------------------- canonical form
def test_canonical_form_equals_the_benchmark_unique_string_for_every_row(csv_rows):
    wrong = [
        k
        for k, row in enumerate(csv_rows)
        if canonical_arch(parse_arch(row["ArchitectureString"])) != row["UniqueString"]
    ]
    assert wrong == [], f"{len(wrong)} rows differ, first: {wrong[:5]}"


def test_canonical_form_gives_the_benchmarks_6466_classes(csv_rows):
    classes = {canonical_arch(parse_arch(row["ArchitectureString"])) for row in csv_rows}
    assert len({row["UniqueString"] for row in csv_rows}) == 6_466
    assert len(classes) == 6_466


def test_canonical_form_never_merges_cells_the_benchmark_tells_apart(csv_rows):
    benchmark_classes = defaultdict(set)
    for row in csv_rows:
        benchmark_classes[canonical_arch(parse_arch(row["ArchitectureString"]))].add(
            row["UniqueString"]
        )
    merged = {key: keys for key, keys in benchmark_classes.items() if len(keys) > 1}
    assert merged == {}


def test_canonical_form_of_a_benchmark_row_by_hand():
    assert canonical_arch(parse_arch(ARCH_1)) == (
        "((0)@nor_conv_3x3)@avg_pool_3x3+(0)@nor_conv_3x3+((0)@nor_conv_3x3)@nor_conv_3x3+0"
    )


def test_canonical_form_is_equal_for_cells_computing_the_same_function():
    # Node 1 copies the input, so conv(node 0) + node 1 and node 0 + conv(node 1) agree.
    a = arch_of({(0, 1): SKIP, (0, 3): CONV3, (1, 3): SKIP})
    b = arch_of({(0, 1): SKIP, (0, 3): SKIP, (1, 3): CONV3})
    assert canonical_arch(a) == canonical_arch(b)


def test_canonical_form_differs_for_cells_computing_different_functions():
    base = {(0, 1): CONV3, (1, 3): SKIP}
    variants = [arch_of({**base, (0, 1): op}) for op in (SKIP, CONV1, CONV3, POOL)]
    assert len({canonical_arch(a) for a in variants}) == 4
    assert canonical_arch(arch_of({(0, 3): SKIP})) != canonical_arch(arch_of({}))


def test_an_op_on_a_zero_node_is_the_same_cell_as_no_edge():
    # Node 1 only has a 'none' input, so the conv 1 -> 3 sees zeros: both cells are x.
    dead_conv = arch_of({(0, 3): SKIP, (1, 3): CONV3})
    plain = arch_of({(0, 3): SKIP})
    assert canonical_arch(dead_conv) == canonical_arch(plain)


# ---------------------------------------------------------------- live edges
def test_live_edges_of_a_cell_of_none_edges_is_empty():
    assert live_edges(arch_of({})) == ()


def test_live_edges_is_empty_when_the_output_node_has_only_none_inputs():
    arch = arch_of({(0, 1): CONV3, (0, 2): CONV1, (1, 2): SKIP})
    assert live_edges(arch) == ()


def test_live_edges_skip_edges_out_of_a_node_without_input():
    arch = arch_of({(1, 2): CONV3, (1, 3): CONV1, (2, 3): POOL, (0, 3): SKIP})
    assert live_edges(arch) == ((0, 3, SKIP),)


def test_live_edges_skip_edges_into_a_node_that_never_reaches_the_output():
    arch = arch_of({(0, 1): CONV3, (0, 2): CONV1, (1, 2): POOL, (1, 3): SKIP})
    assert live_edges(arch) == ((0, 1, CONV3), (1, 3, SKIP))


def test_live_edges_keep_every_edge_of_a_fully_connected_cell_in_order():
    arch = tuple([CONV3, CONV1, POOL, SKIP, CONV3, CONV1])
    assert live_edges(arch) == tuple((s, t, op) for (s, t), op in zip(EDGES, arch, strict=True))


def test_live_edges_form_a_path_from_input_to_output_for_every_arch(space):
    for arch in space.enumerate():
        edges = live_edges(arch)
        assert all(op != NONE for _, _, op in edges)
        for k, (source, target, _) in enumerate(edges):
            assert source == 0 or any(t == source for _, t, _ in edges[:k])
            assert target == 3 or any(s == target for s, _, _ in edges[k + 1 :])


# ---------------------------------------------------------------- sampling
def test_mutate_changes_exactly_one_position_to_a_valid_op(space):
    rng = np.random.default_rng(0)
    changed_positions = set()
    for _ in range(500):
        arch = space.sample(rng)
        child = space.mutate(arch, rng)
        diff = [k for k in range(6) if arch[k] != child[k]]
        assert len(diff) == 1
        assert 0 <= child[diff[0]] < len(OPS)
        changed_positions.add(diff[0])
    assert changed_positions == set(range(6))


def test_sample_is_reproducible_and_covers_every_op(space):
    first = [space.sample(np.random.default_rng([3, k])) for k in range(50)]
    again = [space.sample(np.random.default_rng([3, k])) for k in range(50)]
    assert first == again
    assert set(itertools.chain.from_iterable(first)) == set(range(len(OPS)))
