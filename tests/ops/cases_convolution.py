"""Registry entries for convolution and pooling (forward against the loop-by-loop
references in ``test_convolution.py``, float64 gradient checks)."""
import somanet as sn
from somanet.ops import convolution as C
from somanet.ops import pooling as P

from .registry import OpCase, x
from .test_convolution import (reference_avg_pool2d, reference_conv1d, reference_conv2d,
                               reference_conv_transpose2d, reference_global_avg_pool2d,
                               reference_max_pool2d)


def _conv2d(inputs, weight, bias, kwargs):
    return sn.conv2d(inputs, weight, bias, **kwargs)


def _reference_conv2d(inputs, weight, bias, kwargs):
    return reference_conv2d(inputs, weight, bias, **kwargs)


def _conv1d(inputs, weight, bias, kwargs):
    return sn.conv1d(inputs, weight, bias, **kwargs)


def _reference_conv1d(inputs, weight, bias, kwargs):
    return reference_conv1d(inputs, weight, bias, **kwargs)


def _conv_transpose2d(inputs, weight, bias, kwargs):
    return sn.conv_transpose2d(inputs, weight, bias, **kwargs)


def _reference_conv_transpose2d(inputs, weight, bias, kwargs):
    return reference_conv_transpose2d(inputs, weight, bias, **kwargs)


def _conv(batch_shape, weight_shape, bias=True, **kwargs):
    """A sample: input, weight, bias (or None) and the keyword arguments."""
    return [x(batch_shape), x(weight_shape), x((weight_shape[0],)) if bias else None, kwargs]


def _transposed(batch_shape, weight_shape, groups=1, **kwargs):
    return [x(batch_shape), x(weight_shape), x((weight_shape[1] * groups,)),
            dict(groups=groups, **kwargs)]


def _keywords(fn):
    """``fn(inputs, options)`` as ``fn(inputs, **options)``."""
    return lambda inputs, options: fn(inputs, **options)


CONV = dict(atol=1e-4, rtol=1e-4)

CASES = [
    OpCase("conv2d", _conv2d, _reference_conv2d, [
        _conv((2, 3, 5, 5), (4, 3, 3, 3)),
        _conv((2, 3, 6, 5), (2, 3, 3, 3), stride=2, padding=1),
        _conv((1, 2, 6, 7), (3, 2, 3, 2), bias=False, stride=(2, 1), padding=(1, 2)),
        _conv((2, 2, 5, 6), (2, 2, 4, 2), padding="same"),  # odd totals: padded after
        _conv((1, 2, 7, 6), (2, 2, 3, 3), padding="same", stride=2),
        _conv((2, 2, 5, 5), (3, 2, 2, 3), padding="valid"),
        _conv((1, 2, 7, 7), (2, 2, 3, 3), dilation=2, padding=1),
        _conv((2, 4, 5, 5), (6, 2, 3, 3), groups=2, stride=(1, 2)),
        _conv((1, 3, 4, 4), (3, 1, 3, 3), groups=3, padding="same", dilation=(2, 1)),
    ], covers=[C.Conv2d], **CONV),
    OpCase("conv1d", _conv1d, _reference_conv1d, [
        _conv((2, 3, 9), (4, 3, 3)),
        _conv((1, 4, 10), (2, 2, 3), groups=2, stride=2, padding=1, dilation=2),
        _conv((2, 2, 8), (3, 2, 4), bias=False, padding="same"),
    ], covers=[C.Conv2d], **CONV),
    OpCase("conv_transpose2d", _conv_transpose2d, _reference_conv_transpose2d, [
        _transposed((2, 3, 3, 4), (3, 2, 3, 3)),
        _transposed((1, 2, 3, 3), (2, 3, 3, 3), stride=2, padding=1, output_padding=1),
        _transposed((2, 4, 2, 3), (4, 1, 2, 3), groups=2, stride=(2, 3), padding=(0, 1),
                    output_padding=(1, 2), dilation=(2, 1)),
    ], covers=[C.ConvTranspose2d], **CONV),
    OpCase("max_pool2d", sn.max_pool2d, reference_max_pool2d, [
        [x((2, 3, 4, 6)), 2],  # non-overlapping, exact tiling
        [x((1, 2, 5, 7)), 2],  # non-overlapping, a row and a column left over
        [x((2, 2, 5, 5)), 3, 2],  # overlapping
        [x((1, 2, 5, 6)), 3, 1, 1],  # overlapping, -inf padding
        [x((1, 2, 6, 5)), (3, 2), (2, 1), (1, 0)],
        [x((1, 1, 7, 7)), 2, 3],  # stride > kernel: some elements in no window
        [x((1, 2, 5, 6)), 3, 1, 2],  # padding up to kernel - 1 (ONNX)
    ], covers=[P.MaxPool2d], distinct=True),
    OpCase("max_pool2d_dilation_ceil_mode", _keywords(sn.max_pool2d),
           _keywords(reference_max_pool2d), [
        [x((1, 2, 7, 8)), dict(kernel_size=2, dilation=2)],
        [x((2, 1, 9, 7)), dict(kernel_size=3, stride=2, padding=1, dilation=(2, 1))],
        [x((1, 2, 5, 5)), dict(kernel_size=2, ceil_mode=True)],  # a last partial window
        [x((1, 1, 6, 7)), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)],
        [x((1, 1, 5, 5)), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)],  # dropped
        [x((1, 1, 8, 6)), dict(kernel_size=2, stride=3, dilation=2, ceil_mode=True)],
        [x((1, 1, 6, 6)), dict(kernel_size=2, stride=1, padding=1, dilation=3)],
    ], covers=[P.MaxPool2d], distinct=True),
    OpCase("avg_pool2d", sn.avg_pool2d, reference_avg_pool2d, [
        [x((2, 3, 4, 6)), 2],
        [x((1, 2, 5, 7)), 2],
        [x((2, 2, 5, 5)), 3, 2],
        [x((1, 2, 5, 6)), 3, 1, 1],  # zero padding counted in the divisor
        [x((1, 2, 6, 5)), (3, 2), (2, 1), (1, 0)],
        [x((1, 1, 7, 7)), 2, 3],
        [x((1, 2, 5, 6)), 3, 1, 2],  # padding up to kernel - 1 (ONNX)
    ], covers=[P.AvgPool2d]),
    OpCase("avg_pool2d_ceil_mode_count_include_pad", _keywords(sn.avg_pool2d),
           _keywords(reference_avg_pool2d), [
        [x((1, 2, 5, 6)), dict(kernel_size=3, stride=1, padding=1, count_include_pad=False)],
        [x((1, 1, 6, 5)), dict(kernel_size=(3, 2), padding=(2, 1), count_include_pad=False)],
        [x((1, 2, 5, 5)), dict(kernel_size=2, ceil_mode=True)],
        [x((1, 1, 6, 7)), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)],
        [x((2, 1, 7, 6)), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                               count_include_pad=False)],
        [x((1, 1, 5, 5)), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)],
    ], covers=[P.AvgPool2d]),
    OpCase("global_avg_pool2d", sn.global_avg_pool2d, reference_global_avg_pool2d,
           [[x((2, 3, 4, 5))], [x((1, 1, 1, 1))]], covers=[P.GlobalAvgPool2d]),
]
