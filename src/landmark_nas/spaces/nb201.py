"""The NAS-Bench-201 cell search space (Dong & Yang, ICLR 2020).

A cell is a DAG of four nodes; node 0 is the cell input and node 3 its output.
Each of the six edges ``i -> j`` (``i < j``) carries one of five ops. The string
format is the benchmark's own, one ``|op~i|`` group per incoming edge, nodes
separated by ``+``::

    |nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|skip_connect~2|

An architecture is the tuple of the six op indices in that order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from landmark_nas.errors import ArchitectureError
from landmark_nas.registry import SEARCH_SPACES
from landmark_nas.spaces.base import Arch, SearchSpace

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NONE, SKIP, CONV1, CONV3, POOL = range(len(OPS))
NUM_NODES = 4
# (source, target) of each edge, in the order of the string format.
EDGES: tuple[tuple[int, int], ...] = tuple((i, j) for j in range(1, NUM_NODES) for i in range(j))
_OP_INDEX = {name: k for k, name in enumerate(OPS)}


def parse_arch(text: str) -> Arch:
    """The op tuple of a NAS-Bench-201 string, with a message naming any bad part."""
    text = text.strip()
    groups = text.split("+")
    if len(groups) != NUM_NODES - 1:
        raise ArchitectureError(
            f"architecture {text!r}: expected {NUM_NODES - 1} node groups separated by '+', "
            f"found {len(groups)}"
        )
    ops: list[int] = []
    for target, group in enumerate(groups, start=1):
        if not (group.startswith("|") and group.endswith("|")) or len(group) < 2:
            raise ArchitectureError(
                f"architecture {text!r}: node {target} group {group!r} must be '|op~i|...|'"
            )
        items = group[1:-1].split("|")
        if len(items) != target:
            raise ArchitectureError(
                f"architecture {text!r}: node {target} needs {target} inputs, got {len(items)}"
            )
        for expected_source, item in enumerate(items):
            op_name, sep, source = item.partition("~")
            if op_name not in _OP_INDEX:
                raise ArchitectureError(
                    f"architecture {text!r}: unknown op {op_name!r} (choose from: {', '.join(OPS)})"
                )
            if not sep or source != str(expected_source):
                raise ArchitectureError(
                    f"architecture {text!r}: node {target} input {item!r} must come from "
                    f"node {expected_source}"
                )
            ops.append(_OP_INDEX[op_name])
    return tuple(ops)


def format_arch(arch: Arch) -> str:
    """The benchmark string of an op tuple."""
    groups = []
    position = 0
    for target in range(1, NUM_NODES):
        items = [f"{OPS[arch[position + i]]}~{i}" for i in range(target)]
        position += target
        groups.append("|" + "|".join(items) + "|")
    return "+".join(groups)


def canonical_arch(arch: Arch) -> str:
    """A string equal for cells that compute the same function.

    Each node is written as the sorted sum of its incoming terms: a ``none`` edge, or
    any edge out of a node that is exactly zero, is the zero ``#``; a skip edge is
    its source node's expression unchanged, and any other op wraps it as
    ``(source)@op``. This reproduces the benchmark's
    ``UniqueString`` column for all 15,625 cells (6,466 classes).
    """
    expression = {0: "0"}
    for target in range(1, NUM_NODES):
        terms = []
        for source in range(target):
            op = arch[edge_index(source, target)]
            if op == NONE or expression[source] == "#":
                terms.append("#")
            elif op == SKIP:
                terms.append(expression[source])
            else:
                terms.append(f"({expression[source]})@{OPS[op]}")
        expression[target] = "+".join(sorted(terms))
    return expression[NUM_NODES - 1]


def edge_index(source: int, target: int) -> int:
    """Position of edge ``source -> target`` in the op tuple."""
    return target * (target - 1) // 2 + source


def live_edges(arch: Arch) -> tuple[tuple[int, int, int], ...]:
    """The ``(source, target, op)`` edges that affect the cell output, in order.

    An edge is dropped when its op is ``none``, when its source carries only zeros
    (no non-``none`` path from the input), or when its target never reaches the
    output. An empty result means the cell outputs zeros.
    """
    reaches_input = [True] + [False] * (NUM_NODES - 1)
    for target in range(1, NUM_NODES):
        reaches_input[target] = any(
            arch[edge_index(s, target)] != NONE and reaches_input[s] for s in range(target)
        )
    reaches_output = [False] * (NUM_NODES - 1) + [True]
    for source in range(NUM_NODES - 2, -1, -1):
        reaches_output[source] = any(
            arch[edge_index(source, t)] != NONE and reaches_output[t]
            for t in range(source + 1, NUM_NODES)
        )
    return tuple(
        (s, t, arch[edge_index(s, t)])
        for s, t in EDGES
        if arch[edge_index(s, t)] != NONE and reaches_input[s] and reaches_output[t]
    )


@SEARCH_SPACES.register("nb201")
class NB201Space(SearchSpace):
    """The 15,625-cell NAS-Bench-201 space: 6 edges, 5 ops each."""

    name = "nb201"
    ops = OPS
    edges = EDGES

    @property
    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    def parse(self, text: str) -> Arch:
        return parse_arch(text)

    def format(self, arch: Arch) -> str:
        return format_arch(arch)

    def canonical(self, arch: Arch) -> str:
        return canonical_arch(arch)

    def enumerate(self) -> Iterator[Arch]:
        return iter(itertools.product(range(len(OPS)), repeat=len(EDGES)))

    def sample(self, rng: np.random.Generator) -> Arch:
        return tuple(int(k) for k in rng.integers(0, len(OPS), size=len(EDGES)))

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        position = int(rng.integers(len(arch)))
        choices = [k for k in range(len(OPS)) if k != arch[position]]
        new = list(arch)
        new[position] = choices[int(rng.integers(len(choices)))]
        return tuple(new)
