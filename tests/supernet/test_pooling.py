"""The avg_pool_3x3 op computed as a depthwise window sum equals torch's average pooling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from landmark_nas.supernet.nb201 import AvgPool3x3


def reference_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


@pytest.mark.parametrize("layout", [torch.channels_last, torch.contiguous_format])
@pytest.mark.parametrize("size", [1, 2, 5, 8, 16, 32])
@pytest.mark.parametrize("batch", [3, 20])  # a small batch at <= 16x16 takes avg_pool2d
def test_forward_and_gradient_match_average_pooling(layout, size, batch):
    generator = torch.Generator().manual_seed(size)
    x = torch.randn(batch, 4, size, size, generator=generator).contiguous(memory_format=layout)
    weight = torch.randn(batch, 4, size, size, generator=generator)
    ours_in = x.clone().requires_grad_(True)
    reference_in = x.clone().requires_grad_(True)

    ours = AvgPool3x3(4).to(memory_format=layout)(ours_in)
    reference = reference_pool(reference_in)
    (ours * weight).sum().backward()
    (reference * weight).sum().backward()

    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours_in.grad, reference_in.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(2, 4, 8, 8), (2, 4, 32, 32), (20, 4, 8, 8)])
def test_output_keeps_the_input_layout(shape):
    x = torch.randn(*shape).contiguous(memory_format=torch.channels_last)
    assert AvgPool3x3(4)(x).is_contiguous(memory_format=torch.channels_last)


def test_the_kernel_is_not_part_of_the_state_dict():
    assert AvgPool3x3(4).state_dict() == {}


@pytest.mark.parametrize(
    ("batch", "size", "pooled"), [(8, 16, True), (8, 32, False), (20, 8, False)]
)
def test_small_batches_at_small_sizes_use_average_pooling(batch, size, pooled, monkeypatch):
    # the landmark passes' shapes: F.avg_pool2d is faster there (docs/performance.md)
    import landmark_nas.supernet.nb201 as nb201

    x = torch.randn(batch, 4, size, size).contiguous(memory_format=torch.channels_last)
    window_sums = []
    conv2d = F.conv2d
    monkeypatch.setattr(nb201.F, "conv2d", lambda *a, **k: window_sums.append(1) or conv2d(*a, **k))
    out = AvgPool3x3(4)(x)
    monkeypatch.undo()
    assert (not window_sums) is pooled
    torch.testing.assert_close(out, reference_pool(x), rtol=1e-5, atol=1e-6)
