"""The NAS-Bench-201 macro network as a single-path weight-sharing super-net.

Layout (the benchmark's): a 3x3 convolution stem with ``C`` channels, three stages
of ``N`` cells with ``C``, ``2C`` and ``4C`` channels joined by residual reduction
blocks, then batch norm, ReLU, global average pooling and a linear classifier.

Every edge of every cell holds one module per parametric op (``nor_conv_1x1`` and
``nor_conv_3x3`` as ReLU-Conv-BN), shared by all architectures that choose it. A
forward pass takes the architecture as an argument and computes only the edges
that affect the output: ``none`` edges, edges out of zero nodes and edges into
nodes that never reach the cell output are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from landmark_nas.errors import ConfigError
from landmark_nas.spaces.base import Arch
from landmark_nas.spaces.nb201 import (
    CONV1,
    CONV3,
    EDGES,
    NUM_NODES,
    POOL,
    SKIP,
    edge_index,
    live_edges,
)

BN_MODES = ("batch", "recalibrate")


def make_batch_norm(channels: int, bn_mode: str, affine: bool) -> nn.BatchNorm2d:
    """Batch norm for ``bn_mode``.

    ``batch``: always normalize with the current batch's statistics (no running
    statistics are kept, so training and evaluation behave alike).
    ``recalibrate``: keep running statistics as a cumulative average, meant to be
    reset and recomputed for each architecture before it is evaluated.
    """
    if bn_mode == "batch":
        return nn.BatchNorm2d(channels, affine=affine, track_running_stats=False)
    return nn.BatchNorm2d(channels, affine=affine, momentum=None, track_running_stats=True)


# At most this many images count as a small batch (the regularizer's landmark passes,
# 8 images by default), where another pooling kernel is faster on CPU.
SMALL_BATCH = 16


class ConvBN(nn.Module):
    """Conv-BN; the preceding ReLU is applied once per source node by the cell."""

    def __init__(self, channels: int, kernel: int, bn_mode: str) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False)
        self.bn = make_batch_norm(channels, bn_mode, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AvgPool3x3(nn.Module):
    """The ``avg_pool_3x3`` op: 3x3 mean, stride 1, padded pixels not counted.

    Computed as a depthwise convolution with a ones kernel (the 3x3 window sum) times
    the reciprocal of each pixel's in-bounds window size. Equal to ``F.avg_pool2d(x,
    3, 1, 1, count_include_pad=False)`` up to rounding and faster on CPU, forward plus
    backward: about 4x at 32x32 and 1.4x at 8x8 in NHWC, 6-10x in NCHW. Small batches
    (the landmark passes) at 16x16 and below are the exception: there ``F.avg_pool2d``
    takes 113 against 185 µs (16x16) and 56 against 176 µs (8x8) for 8 images on two
    threads, and a landmark pair's forward and backward pass 3 % less time with it at
    C=16, N=5 (``docs/performance.md``).
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        # Not persistent: checkpoints stay as they were, the kernel is rebuilt here.
        self.register_buffer("ones", torch.ones(channels, 1, 3, 3), persistent=False)
        self._inverse_counts: dict[tuple, torch.Tensor] = {}

    def _inverse_count(self, x: torch.Tensor) -> torch.Tensor:
        # Materialized per channel in x's layout: a broadcast over the innermost
        # (channel) axis of an NHWC tensor is a slow, unvectorized multiply.
        layout = (
            torch.channels_last
            if x.is_contiguous(memory_format=torch.channels_last)
            else torch.contiguous_format
        )
        key = (x.shape[1:], x.dtype, x.device, layout)
        inverse = self._inverse_counts.get(key)
        if inverse is None:
            ones = torch.ones(1, 1, *x.shape[2:], dtype=x.dtype, device=x.device)
            count = F.avg_pool2d(ones, 3, stride=1, padding=1, divisor_override=1)
            inverse = count.reciprocal().expand(1, *x.shape[1:]).contiguous(memory_format=layout)
            self._inverse_counts[key] = inverse
        return inverse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] <= SMALL_BATCH and x.shape[-1] <= 16 and x.shape[-2] <= 16:
            return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        window_sum = F.conv2d(x, self.ones, padding=1, groups=x.shape[1])
        return window_sum * self._inverse_count(x)


Memo = dict[tuple, tuple[int, torch.Tensor]]


def shared(memo: Memo, key: tuple, compute) -> tuple[int, torch.Tensor]:
    """``memo[key]``, computed and numbered on first use: ``(id, tensor)``."""
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = (len(memo), compute())
    return hit


class SearchCell(nn.Module):
    """One NAS-Bench-201 cell holding the shared weights of every op on every edge."""

    def __init__(self, channels: int, bn_mode: str) -> None:
        super().__init__()
        self.conv1 = nn.ModuleList(ConvBN(channels, 1, bn_mode) for _ in EDGES)
        self.conv3 = nn.ModuleList(ConvBN(channels, 3, bn_mode) for _ in EDGES)
        self.pool = AvgPool3x3(channels)

    def forward(self, x: torch.Tensor, edges: tuple[tuple[int, int, int], ...]) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x] + [None] * (NUM_NODES - 1)
        # ReLU and pooling are parameter-free: computed once per source node.
        activated: dict[int, torch.Tensor] = {}
        pooled: dict[int, torch.Tensor] = {}
        for source, target, op in edges:
            value = nodes[source]
            if op == SKIP:
                out = value
            elif op == POOL:
                if source not in pooled:
                    pooled[source] = self.pool(value)
                out = pooled[source]
            else:
                if source not in activated:
                    activated[source] = F.relu(value)
                module = self.conv1 if op == CONV1 else self.conv3
                out = module[edge_index(source, target)](activated[source])
            current = nodes[target]
            nodes[target] = out if current is None else current + out
        output = nodes[NUM_NODES - 1]
        return torch.zeros_like(x) if output is None else output

    def forward_shared(
        self, x: torch.Tensor, x_id: int, edges: tuple[tuple[int, int, int], ...], memo: Memo
    ) -> tuple[int, torch.Tensor]:
        """:meth:`forward` for one of several architectures run on the same images.

        ``x_id`` names the computation that produced ``x``. Every intermediate result is
        stored in ``memo`` under a key naming its computation (op, edge and the ids of its
        inputs), so what another architecture of the same call already computed (the
        same op on the same edge of the same node value) is reused, not recomputed. The
        ops that do run are :meth:`forward`'s, in its order: the values are identical.
        Returns the output's id and the output.
        """
        cell = id(self)
        nodes: list[tuple[int, torch.Tensor] | None] = [(x_id, x)] + [None] * (NUM_NODES - 1)
        parts: list[list[tuple[int, torch.Tensor]]] = [[] for _ in range(NUM_NODES)]

        def node(index: int) -> tuple[int, torch.Tensor] | None:
            if nodes[index] is None and parts[index]:
                terms = parts[index]
                if len(terms) == 1:
                    nodes[index] = terms[0]
                else:

                    def total() -> torch.Tensor:
                        value = terms[0][1]
                        for _, term in terms[1:]:
                            value = value + term
                        return value

                    key = ("sum", cell, index, tuple(term_id for term_id, _ in terms))
                    nodes[index] = shared(memo, key, total)
            return nodes[index]

        for source, target, op in edges:
            value_id, value = node(source)
            if op == SKIP:
                out = (value_id, value)
            elif op == POOL:
                out = shared(memo, ("pool", cell, value_id), lambda v=value: self.pool(v))
            else:
                act_id, act = shared(memo, ("relu", cell, value_id), lambda v=value: F.relu(v))
                module = (self.conv1 if op == CONV1 else self.conv3)[edge_index(source, target)]
                out = shared(memo, (op, cell, source, target, act_id), lambda a=act, m=module: m(a))
            parts[target].append(out)
        output = node(NUM_NODES - 1)
        if output is None:
            return shared(memo, ("zeros", cell, x_id), lambda: torch.zeros_like(x))
        return output


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, bn_mode: str) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            make_batch_norm(c_out, bn_mode, affine=True),
        )


class ReductionBlock(nn.Module):
    """The benchmark's residual block that halves resolution and doubles channels."""

    def __init__(self, c_in: int, c_out: int, bn_mode: str) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, bn_mode)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, bn_mode)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201SuperNet(nn.Module):
    """Single-path super-net: ``forward(images, arch)`` runs architecture ``arch``."""

    def __init__(
        self,
        channels: int,
        cells_per_stage: int,
        num_classes: int,
        bn_mode: str = "batch",
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        if channels < 1 or cells_per_stage < 1:
            raise ConfigError(
                f"channels={channels} and cells_per_stage={cells_per_stage} must be positive"
            )
        if bn_mode not in BN_MODES:
            raise ConfigError(f"unknown bn_mode {bn_mode!r} (choose from: {', '.join(BN_MODES)})")
        self.bn_mode = bn_mode
        self.stem = nn.Sequential(
            nn.Conv2d(3, channels, 3, padding=1, bias=False),
            make_batch_norm(channels, bn_mode, affine=True),
        )
        layers: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ReductionBlock(width, width * 2, bn_mode))
                width *= 2
            layers.extend(SearchCell(width, bn_mode) for _ in range(cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.head_bn = make_batch_norm(width, bn_mode, affine=True)
        self.classifier = nn.Linear(width, num_classes)
        self._plans: dict[Arch, tuple[tuple[int, int, int], ...]] = {}
        # NHWC is faster on CPU: about 1.35x a C=16, N=5 training step on one thread
        # (docs/performance.md).
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.to(memory_format=self.memory_format)

    def plan(self, arch: Arch) -> tuple[tuple[int, int, int], ...]:
        """The live edges of ``arch`` (cached; the hot path calls this every step)."""
        edges = self._plans.get(arch)
        if edges is None:
            edges = self._plans[arch] = live_edges(arch)
        return edges

    def forward(self, images: torch.Tensor, arch: Arch) -> torch.Tensor:
        edges = self.plan(arch)
        x = self.stem(images.contiguous(memory_format=self.memory_format))
        for layer in self.layers:
            x = layer(x, edges) if isinstance(layer, SearchCell) else layer(x)
        return self._head(x)

    def forward_many(self, images: torch.Tensor, archs: Sequence[Arch]) -> list[torch.Tensor]:
        """``[self(images, arch) for arch in archs]``, computing shared work once.

        All architectures see the same images, so the stem runs once, and so does every
        op whose input and edge two architectures have in common (in the first cell,
        the edges out of its input node that choose the same op, and what follows from
        them). The landmark regularizer scores both landmarks of a pair this way. With
        batch statistics every value equals the separate forward's; gradients of shared
        parts add up as they would over separate passes. In ``recalibrate`` mode a
        shared op updates the running statistics once, not once per architecture
        (they are recomputed per architecture before scoring anyway).
        """
        if not archs:
            return []
        memo: Memo = {}
        stem_id, stem = shared(
            memo, ("stem",), lambda: self.stem(images.contiguous(memory_format=self.memory_format))
        )
        outputs = []
        for arch in archs:
            edges = self.plan(arch)
            x_id, x = stem_id, stem
            for layer in self.layers:
                if isinstance(layer, SearchCell):
                    x_id, x = layer.forward_shared(x, x_id, edges, memo)
                else:
                    x_id, x = shared(memo, ("layer", id(layer), x_id), lambda v=x, m=layer: m(v))
            _, logits = shared(memo, ("head", x_id), lambda v=x: self._head(v))
            outputs.append(logits)
        return outputs

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.head_bn(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    def batch_norms(self) -> Iterable[nn.BatchNorm2d]:
        return (m for m in self.modules() if isinstance(m, nn.BatchNorm2d))

    @torch.no_grad()
    def recalibrate(self, arch: Arch, batches: Iterable[torch.Tensor]) -> None:
        """Recompute running batch-norm statistics of ``arch`` from ``batches``.

        Only meaningful in ``recalibrate`` mode; leaves the module in eval mode.
        """
        if self.bn_mode != "recalibrate":
            return
        for bn in self.batch_norms():
            bn.reset_running_stats()
        self.train()
        for images in batches:
            self(images, arch)
        self.eval()

    def count_parameters(self, arch: Arch | None = None) -> int:
        """Parameters of the whole super-net, or of the path ``arch`` uses."""
        if arch is None:
            return sum(p.numel() for p in self.parameters())
        used = {id(p) for p in self.parameters()}
        for layer in self.layers:
            if isinstance(layer, SearchCell):
                used -= {id(p) for p in layer.parameters()}
        total = sum(p.numel() for p in self.parameters() if id(p) in used)
        for layer in self.layers:
            if isinstance(layer, SearchCell):
                for source, target, op in self.plan(arch):
                    if op in (CONV1, CONV3):
                        module = layer.conv1 if op == CONV1 else layer.conv3
                        total += sum(
                            p.numel() for p in module[edge_index(source, target)].parameters()
                        )
        return total
