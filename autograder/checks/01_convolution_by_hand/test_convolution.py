"""Hidden checks for conv2d and conv2d_fast (same contract), and conv2d_fast's vectorisation."""

import numpy as np
import pytest

from autograder.harness import expect, expect_array

rng = np.random.default_rng(202)


def _case(n, h, w, c_in, kh, kw, c_out, strides, padding, bias=True, dtype=np.float64, integer_image=False):
    if integer_image:
        x = rng.integers(0, 256, (n, h, w, c_in)).astype(np.uint8)
    else:
        x = rng.normal(size=(n, h, w, c_in)).astype(dtype)
    kernel = rng.normal(size=(kh, kw, c_in, c_out)).astype(dtype)
    b = rng.normal(size=(c_out,)).astype(dtype) if bias else None
    return x, kernel, b, strides, padding


CASES = {
    "valid, stride 1, 3 -> 4 channels, asymmetric 3x2 kernel": _case(2, 7, 6, 3, 3, 2, 4, 1, "valid"),
    "same, stride 1, 3x3 kernel": _case(2, 6, 7, 2, 3, 3, 3, 1, "same"),
    "same, stride 2, even input 8x8, 3x3 kernel": _case(2, 8, 8, 3, 3, 3, 2, 2, "same"),
    "same, stride 2, odd input 7x9, even 4x4 kernel": _case(1, 7, 9, 2, 4, 4, 3, 2, "same"),
    "valid, strides (2, 3), 2x3 kernel": _case(2, 9, 11, 2, 2, 3, 5, (2, 3), "valid"),
    "same, strides (1, 2), 5x2 kernel": _case(1, 6, 8, 3, 5, 2, 2, (1, 2), "same"),
    "valid, stride 3 with a leftover border": _case(1, 10, 10, 1, 3, 3, 2, 3, "valid"),
    "no bias, 1 -> 1 channel": _case(3, 5, 6, 1, 2, 2, 1, 1, "valid", bias=False),
    "integer image (uint8) with float kernel, same": _case(1, 6, 6, 3, 3, 3, 4, 1, "same", integer_image=True),
    "float32, same, stride 2, 6 -> 2 channels": _case(2, 10, 12, 6, 3, 3, 2, 2, "same", dtype=np.float32),
    "1x1 kernel mixes channels": _case(2, 4, 5, 4, 1, 1, 3, 1, "valid"),
}
FUNCTIONS = [pytest.param(name, marks=pytest.mark.target(name), id=name) for name in ("conv2d", "conv2d_fast")]
TOLERANCE = {np.dtype(np.float64): (1e-7, 1e-9), np.dtype(np.float32): (1e-4, 1e-5)}


def _label(function, case, x, kernel, b, strides, padding):
    bias = "None" if b is None else f"shape {b.shape}"
    return (f"{function} on '{case}': x {x.shape}, kernel {kernel.shape}, bias {bias}, "
            f"strides={strides!r}, padding={padding!r}")


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(function, case, student, reference):
    x, kernel, b, strides, padding = CASES[case]
    rtol, atol = TOLERANCE[np.dtype(kernel.dtype)]
    got = student.call(function, x, kernel, bias=b, strides=strides, padding=padding)
    expected = reference.conv2d(x, kernel, bias=b, strides=strides, padding=padding)
    expect_array(_label(function, case, x, kernel, b, strides, padding), got, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_positional_defaults(function, student, reference):
    """Called as conv2d(x, kernel): no bias, stride 1, 'valid'."""
    x, kernel, _, _, _ = _case(1, 5, 5, 2, 3, 3, 2, 1, "valid")
    expect_array(f"{function}(x, kernel) with defaults: x {x.shape}, kernel {kernel.shape}",
                 student.call(function, x, kernel), reference.conv2d(x, kernel), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_leaves_inputs_unchanged(function, student):
    x, kernel, b, strides, padding = _case(1, 6, 6, 2, 3, 3, 2, 2, "same")
    outcome = student.outcome(function, x, kernel, bias=b, strides=strides, padding=padding)
    if outcome.status != "ok":
        student.call(function, x, kernel, bias=b, strides=strides, padding=padding)
    expect(not outcome.modified_arguments, f"{function} modified its input arrays; work on copies instead.",
           f"{function} left its inputs unchanged")


@pytest.mark.target("conv2d_fast", weight=2)
def test_fast_version_has_no_loop_over_batch_or_positions(student):
    """Count executed Python lines on a small and a 27x larger output: vectorised code runs the same lines."""
    small = _case(1, 6, 6, 2, 3, 3, 2, 1, "valid")      # 1 x 4 x 4 outputs
    large = _case(3, 14, 14, 2, 3, 3, 2, 1, "valid")    # 3 x 12 x 12 outputs
    counts = []
    for x, kernel, b, strides, padding in (small, large):
        outcome = student.outcome("conv2d_fast", x, kernel, bias=b, strides=strides, padding=padding,
                                  count_lines=True)
        if outcome.status != "ok":
            student.call("conv2d_fast", x, kernel, bias=b, strides=strides, padding=padding)
        expect(outcome.tracing_intact is not False,
               "conv2d_fast changed Python's tracing hook, so the grader cannot tell whether it is "
               "vectorised.", "")
        counts.append(outcome.line_events or 0)
    slack = 25
    expect(counts[1] <= counts[0] + slack,
           f"conv2d_fast ran {counts[0]} lines of Python for 16 output positions (batch 1) but "
           f"{counts[1]} lines for 432 positions (batch 3): the work grows with the batch or the output "
           "size, so it loops over them in Python. Replace those loops with array operations "
           "(for example sliding_window_view with einsum or tensordot); a loop over the kh*kw kernel "
           "offsets is fine.",
           f"conv2d_fast is vectorised: {counts[0]} Python lines for 16 output positions, {counts[1]} for "
           f"432 (allowed: at most {slack} more)")
