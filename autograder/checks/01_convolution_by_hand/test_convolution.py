"""Hidden checks for conv2d and conv2d_fast (same contract), and conv2d_fast's vectorisation."""

import time

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng

rng = hidden_rng("convolution")


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


# Two inputs where a Python loop is costly and array code is not: one image with many output
# positions, and many images with few. A 2x2 single-channel kernel keeps the arithmetic tiny,
# so the time is the loop's. Array code takes a few milliseconds of CPU on each; a loop over
# positions or images takes 100 ms or more.
SPEED_PROBES = {
    "one 200x200 image (39,601 output positions)": ((1, 200, 200, 1), (2, 2, 1, 1)),
    "40,000 images of 3x3 (4 positions each)": ((40000, 3, 3, 1), (2, 2, 1, 1)),
}
SPEED_FACTOR, SPEED_ALLOWANCE = 5, 0.025


def _cpu_of_reference(function, *args) -> float:
    started = time.process_time()
    function(*args)
    return time.process_time() - started


@pytest.mark.target("conv2d_fast", weight=2)
def test_fast_version_has_no_loop_over_batch_or_positions(student, reference):
    """The evidence is CPU time, counted by the kernel for the sandbox's cgroup, outside the
    student's reach: the fewest of three runs on three inputs never seen before (so a cache of
    answers gains nothing), less a call that only receives them."""
    for probe, (x_shape, kernel_shape) in SPEED_PROBES.items():
        warm_up, *calls = [(rng.normal(size=x_shape), rng.normal(size=kernel_shape)) for _ in range(4)]
        student.call("conv2d_fast", *warm_up)  # fails clearly if the function does not run
        spent = student.cpu_seconds("conv2d_fast", calls)
        budget = SPEED_FACTOR * min(_cpu_of_reference(reference.conv2d_fast, *args) for args in calls) \
            + SPEED_ALLOWANCE
        expect(spent <= budget,
               f"conv2d_fast on {probe} took {spent * 1000:.0f} ms of CPU time; array code takes a few "
               f"milliseconds (allowed: {budget * 1000:.0f} ms, {SPEED_FACTOR}x the instructor's version plus "
               f"{SPEED_ALLOWANCE * 1000:.0f} ms). It loops over the images or the output positions in "
               "Python: replace those loops with array operations (for example sliding_window_view with "
               "einsum or tensordot); a loop over the kh*kw kernel offsets is fine.",
               f"conv2d_fast is vectorised: {spent * 1000:.1f} ms of CPU time on {probe} (allowed "
               f"{budget * 1000:.0f} ms)")
