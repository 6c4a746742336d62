"""The single-path NAS-Bench-201 super-net: shapes, skipped edges, layouts, batch norm."""

from __future__ import annotations

import pytest
import torch

from landmark_nas.errors import ConfigError
from landmark_nas.spaces.nb201 import CONV1, CONV3, EDGES, NONE, POOL, SKIP, edge_index, live_edges
from landmark_nas.supernet import create_supernet
from landmark_nas.supernet.nb201 import NB201SuperNet, SearchCell

C = 4


def arch_of(ops: dict[tuple[int, int], int]) -> tuple[int, ...]:
    return tuple(ops.get(edge, NONE) for edge in EDGES)


ALL_CONV3 = (CONV3,) * 6
MIXED = arch_of(
    {(0, 1): CONV3, (0, 2): CONV1, (1, 2): POOL, (0, 3): SKIP, (1, 3): CONV1, (2, 3): CONV3}
)


def images(count: int = 4, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, 3, size, size, generator=torch.Generator().manual_seed(seed))


def make_net(**kwargs) -> NB201SuperNet:
    torch.manual_seed(0)
    options = {"channels": C, "cells_per_stage": 1, "num_classes": 10, **kwargs}
    return NB201SuperNet(**options)


def test_output_is_one_logit_per_class_and_image():
    net = make_net(num_classes=7, cells_per_stage=2)
    for arch in (ALL_CONV3, MIXED, arch_of({})):
        assert net(images(5), arch).shape == (5, 7)


def test_widths_double_at_each_stage():
    net = make_net(cells_per_stage=2)
    cells = [layer for layer in net.layers if isinstance(layer, SearchCell)]
    assert len(cells) == 6
    assert [cell.conv3[0].conv.in_channels for cell in cells] == [C, C, 2 * C, 2 * C, 4 * C, 4 * C]
    assert net.classifier.in_features == 4 * C


def test_a_cell_of_none_edges_outputs_zeros():
    cell = SearchCell(C, "batch")
    x = torch.randn(2, C, 8, 8)
    assert torch.equal(cell(x, live_edges(arch_of({}))), torch.zeros_like(x))
    dead_output = arch_of({(0, 1): CONV3, (0, 2): CONV1, (1, 2): SKIP})
    assert torch.equal(cell(x, live_edges(dead_output)), torch.zeros_like(x))


def test_a_cell_of_skip_and_pool_computes_their_sum():
    cell = SearchCell(C, "batch")
    x = torch.randn(2, C, 8, 8)
    arch = arch_of({(0, 3): SKIP, (0, 1): POOL, (1, 3): SKIP})
    pooled = torch.nn.functional.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    assert torch.allclose(cell(x, live_edges(arch)), x + pooled, atol=1e-6)


def test_forward_only_uses_the_modules_of_live_edges():
    # 0 -> 1 is none, so the convs out of node 1 and into node 2 (dead) must not run.
    arch = arch_of({(1, 2): CONV3, (1, 3): CONV1, (0, 2): CONV1, (2, 3): NONE, (0, 3): CONV3})
    net = make_net()
    net(images(), arch).sum().backward()
    for cell in (layer for layer in net.layers if isinstance(layer, SearchCell)):
        for modules, op in ((cell.conv1, CONV1), (cell.conv3, CONV3)):
            for (source, target), module in zip(EDGES, modules, strict=True):
                used = (source, target) == (0, 3) and op == CONV3
                grad = module.conv.weight.grad
                assert (grad is not None) == used, (source, target, op)
    assert net.stem[0].weight.grad is not None


def test_parameters_of_a_path_count_only_its_conv_edges():
    net = make_net()
    widths = (C, 2 * C, 4 * C)
    conv3_weights = sum(6 * 9 * w * w for w in widths)
    assert net.count_parameters(ALL_CONV3) - net.count_parameters(arch_of({})) == conv3_weights
    one_conv1 = arch_of({(0, 3): CONV1})
    assert net.count_parameters(one_conv1) - net.count_parameters(arch_of({})) == sum(
        w * w for w in widths
    )
    assert net.count_parameters() > net.count_parameters(ALL_CONV3)


@pytest.mark.parametrize("arch", [ALL_CONV3, MIXED])
def test_channels_last_and_contiguous_layouts_give_the_same_logits(arch):
    nhwc = make_net(channels_last=True)
    nchw = make_net(channels_last=False)
    nchw.load_state_dict(nhwc.state_dict())
    x = images(6, 32)
    a, b = nhwc(x, arch), nchw(x, arch)
    assert torch.allclose(a, b, atol=1e-5, rtol=0)
    assert nhwc.stem[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_recalibrate_recomputes_batch_norm_statistics_of_the_arch():
    net = make_net(bn_mode="recalibrate")
    batches = [images(8, 16, seed) for seed in range(3)]
    net.recalibrate(MIXED, batches)
    assert not net.training
    with torch.no_grad():
        stem_out = torch.cat([net.stem[0](b) for b in batches])
    assert torch.allclose(net.stem[1].running_mean, stem_out.mean(dim=(0, 2, 3)), atol=1e-5)
    cell = net.layers[0]
    unused = cell.conv3[edge_index(0, 3)].bn  # MIXED has skip on 0 -> 3
    assert torch.equal(unused.running_mean, torch.zeros(C))
    assert torch.equal(unused.running_var, torch.ones(C))
    used = cell.conv3[edge_index(0, 1)].bn
    assert not torch.equal(used.running_mean, torch.zeros(C))


def test_recalibrated_eval_output_depends_on_the_recalibration_batches():
    net = make_net(bn_mode="recalibrate")
    x = images(4, 16, 9)
    net.recalibrate(ALL_CONV3, [images(8, 16, 1)])
    first = net(x, ALL_CONV3)
    net.recalibrate(ALL_CONV3, [images(8, 16, 1)])
    again = net(x, ALL_CONV3)
    net.recalibrate(ALL_CONV3, [images(8, 16, 2) * 3])
    other = net(x, ALL_CONV3)
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)


def test_recalibrate_is_a_no_op_in_batch_mode():
    net = make_net(bn_mode="batch")
    net.train()
    net.recalibrate(MIXED, [images()])
    assert net.training
    assert all(not bn.track_running_stats for bn in net.batch_norms())


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"bn_mode": "group"}, "'group'"),
        ({"channels": 0}, "channels=0"),
        ({"cells_per_stage": 0}, "cells_per_stage=0"),
    ],
)
def test_bad_settings_are_config_errors(kwargs, named):
    with pytest.raises(ConfigError, match=named):
        make_net(**kwargs)


def test_create_supernet_knows_only_nb201():
    assert isinstance(create_supernet("nb201", C, 1, 10), NB201SuperNet)
    with pytest.raises(ConfigError, match="'darts'"):
        create_supernet("darts", C, 1, 10)


def _random_archs(count: int, seed: int) -> list[tuple[int, ...]]:
    generator = torch.Generator().manual_seed(seed)
    return [tuple(torch.randint(0, 5, (6,), generator=generator).tolist()) for _ in range(count)]


def test_forward_many_equals_separate_forwards_and_runs_the_shared_stem_once():
    net = create_supernet("nb201", 4, 2, 10)
    images = torch.randn(4, 3, 32, 32)
    # Pairs with a common first edge, disjoint ones, a dead cell and a repeated arch.
    archs = _random_archs(12, 0) + [(NONE,) * 6, (CONV3,) * 6, (CONV3,) * 3 + (POOL,) * 3]
    archs.append(archs[0])
    calls = []
    net.stem.register_forward_hook(lambda *_: calls.append(1))
    together = net.forward_many(images, archs)
    assert len(calls) == 1
    for arch, logits in zip(archs, together, strict=True):
        assert torch.equal(logits, net(images, arch)), arch


def test_forward_many_shares_the_first_cells_common_ops():
    net = create_supernet("nb201", 4, 1, 10)
    first = net.layers[0]
    calls = []
    first.conv3[edge_index(0, 1)].register_forward_hook(lambda *_: calls.append(1))
    a = (CONV3, SKIP, SKIP, SKIP, SKIP, SKIP)  # both apply the 0->1 conv to the stem output
    b = (CONV3, POOL, CONV1, POOL, CONV1, POOL)
    net.forward_many(torch.randn(2, 3, 32, 32), [a, b])
    assert len(calls) == 1


def test_forward_many_gradients_add_up_like_separate_passes():
    torch.manual_seed(0)
    net = create_supernet("nb201", 4, 1, 10)
    images = torch.randn(4, 3, 32, 32)
    a, b = (CONV3, SKIP, CONV1, POOL, CONV3, SKIP), (CONV3, POOL, SKIP, CONV1, SKIP, CONV3)
    first, second = net.forward_many(images, [a, b])
    (first.sum() - 2 * second.sum()).backward()
    together = {name: p.grad.clone() for name, p in net.named_parameters() if p.grad is not None}
    net.zero_grad(set_to_none=True)
    (net(images, a).sum() - 2 * net(images, b).sum()).backward()
    apart = {name: p.grad for name, p in net.named_parameters() if p.grad is not None}
    assert together.keys() == apart.keys()
    for name, grad in apart.items():
        torch.testing.assert_close(together[name], grad, rtol=1e-4, atol=1e-6)
