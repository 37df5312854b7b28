"""Hidden checks for conv2d_param_count and dense_param_count (Keras's count_params())."""

import pytest

from autograder.harness import expect_exact

# name: (in_channels, filters, kernel_size, use_bias or None for the default)
CONV_CASES = {
    "MNIST conv2d_1": (1, 32, 3, None),
    "MNIST conv2d_3": (64, 64, 3, None),
    "VGG16 block1_conv1 (RGB input)": (3, 64, (3, 3), None),
    "VGG16 block4_conv2": (512, 512, 3, None),
    "1x1 convolution, 256 -> 64 channels": (256, 64, 1, None),
    "5x5 kernel": (16, 8, 5, None),
    "rectangular (3, 5) kernel": (3, 16, (3, 5), None),
    "rectangular (7, 1) kernel, no bias": (8, 4, (7, 1), False),
    "kernel size given as a list [2, 4]": (5, 6, [2, 4], True),
    "no bias, square kernel": (32, 64, 3, False),
    "explicit use_bias=True": (2, 3, (1, 2), True),
    "one filter on one channel, 1x1": (1, 1, 1, None),
}

# name: (in_features, units, use_bias or None)
DENSE_CASES = {
    "MNIST dense_1 (576 -> 64)": (576, 64, None),
    "MNIST dense_2 (64 -> 10)": (64, 10, None),
    "lecture 002's dense layer on MNIST pixels (784 -> 512)": (784, 512, None),
    "VGG16 fc1 (25088 -> 4096)": (25088, 4096, None),
    "dogs vs cats head (8192 -> 256)": (8192, 256, None),
    "single output unit": (12544, 1, None),
    "no bias": (100, 7, False),
    "explicit use_bias=True": (3, 5, True),
    "a very wide layer (1,000,000 -> 4,096): more than 2**31 parameters": (1_000_000, 4096, None),
    "one input, one unit": (1, 1, None),
}


def _call(student, function, args, use_bias):
    return student.call(function, *args) if use_bias is None else student.call(function, *args, use_bias=use_bias)


def _label(function, args, use_bias):
    text = ", ".join(repr(a) for a in args)
    return f"{function}({text}{'' if use_bias is None else f', use_bias={use_bias}'})"


@pytest.mark.target("conv2d_param_count")
@pytest.mark.parametrize("case", list(CONV_CASES))
def test_conv2d_param_count(case, student, reference):
    *args, use_bias = CONV_CASES[case]
    expected = reference.conv2d_param_count(*args) if use_bias is None else \
        reference.conv2d_param_count(*args, use_bias=use_bias)
    expect_exact(f"{_label('conv2d_param_count', args, use_bias)} ({case})",
                 _call(student, "conv2d_param_count", args, use_bias), expected)


@pytest.mark.target("dense_param_count")
@pytest.mark.parametrize("case", list(DENSE_CASES))
def test_dense_param_count(case, student, reference):
    *args, use_bias = DENSE_CASES[case]
    expected = reference.dense_param_count(*args) if use_bias is None else \
        reference.dense_param_count(*args, use_bias=use_bias)
    expect_exact(f"{_label('dense_param_count', args, use_bias)} ({case})",
                 _call(student, "dense_param_count", args, use_bias), expected)
