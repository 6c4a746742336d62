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


@pytest.mark.parametrize("batch", [1, 8, 16])
@pytest.mark.parametrize("needs", [(True, True), (False, True), (True, False)])
def test_a_small_batch_1x1_convolution_matches_the_convolution(batch, needs):
    from landmark_nas.supernet.nb201 import ConvBN, PointwiseConv

    generator = torch.Generator().manual_seed(batch)
    x = torch.randn(batch, 6, 5, 7, generator=generator).contiguous(
        memory_format=torch.channels_last
    )
    w = torch.randn(4, 6, 1, 1, generator=generator)
    grad = torch.randn(batch, 4, 5, 7, generator=generator)
    x_ours, w_ours = x.clone().requires_grad_(needs[0]), w.clone().requires_grad_(needs[1])
    x_ref, w_ref = x.clone().requires_grad_(needs[0]), w.clone().requires_grad_(needs[1])
    ours = PointwiseConv.apply(x_ours, w_ours)
    reference = F.conv2d(x_ref, w_ref)
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-5)
    assert ours.is_contiguous(memory_format=torch.channels_last)
    (ours * grad).sum().backward()
    (reference * grad).sum().backward()
    for mine, theirs in ((x_ours, x_ref), (w_ours, w_ref)):
        if mine.requires_grad:
            torch.testing.assert_close(mine.grad, theirs.grad, rtol=1e-5, atol=1e-5)
        else:
            assert mine.grad is None
    # the module takes this path only for small channels-last batches
    module = ConvBN(6, 1, "batch")
    module.conv.weight.data.copy_(torch.randn(6, 6, 1, 1, generator=generator))
    for images in (x, x.contiguous(), torch.randn(20, 6, 5, 7)):
        torch.testing.assert_close(
            module(images), module.bn(module.conv(images)), rtol=1e-5, atol=1e-5
        )
