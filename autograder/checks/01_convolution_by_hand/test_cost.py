"""Hidden checks for conv2d_multiply_adds(input_shape, kernel_size, filters, strides=1, padding='valid')."""

import pytest

from autograder.harness import expect_exact

CASES = {
    "valid, 3x3, stride 1": ((8, 28, 28, 1), 3, 32, 1, "valid"),
    "valid, 3x3 on 64 channels": ((4, 13, 13, 64), 3, 64, 1, "valid"),
    "same, stride 2, even size": ((2, 32, 32, 3), 3, 16, 2, "same"),
    "same, stride 2, odd size": ((5, 15, 15, 8), (3, 3), 10, 2, "same"),
    "valid, asymmetric kernel (3, 5), strides (2, 1)": ((3, 20, 17, 4), (3, 5), 7, (2, 1), "valid"),
    "valid, stride 3 with leftover border": ((1, 10, 11, 2), 2, 5, 3, "valid"),
    "1x1 kernel": ((10, 7, 7, 256), 1, 32, 1, "valid"),
    "large batch, same, stride 1": ((60000, 28, 28, 32), 3, 64, 1, "same"),
    # odd sizes everywhere: the count (about 3.7e17) needs more than a float's 53 bits of mantissa
    "a count beyond 2**53, exact only in integers": ((99_999, 223, 223, 2047), 3, 4095, 1, "valid"),
}


@pytest.mark.target("conv2d_multiply_adds")
@pytest.mark.parametrize("case", list(CASES))
def test_multiply_adds(case, student, reference):
    shape, kernel_size, filters, strides, padding = CASES[case]
    got = student.call("conv2d_multiply_adds", shape, kernel_size, filters, strides=strides, padding=padding)
    expected = reference.conv2d_multiply_adds(shape, kernel_size, filters, strides=strides, padding=padding)
    expect_exact(f"conv2d_multiply_adds(input_shape={shape}, kernel_size={kernel_size!r}, filters={filters}, "
                 f"strides={strides!r}, padding={padding!r})", got, int(expected))
