"""Hidden checks for correlate2d(image, kernel): valid 2-D cross-correlation, one channel."""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng

rng = hidden_rng("correlate2d")

CASES = {
    # name: (image, kernel, tolerance) -- integer cases must be exact
    "integers, 6x7 image, asymmetric 3x2 kernel": (rng.integers(-5, 6, (6, 7)), rng.integers(-3, 4, (3, 2)), 0),
    "integers, 8x5 image, 2x4 kernel": (rng.integers(0, 10, (8, 5)), rng.integers(-2, 3, (2, 4)), 0),
    "floats, 9x8 image, 4x3 kernel": (rng.normal(size=(9, 8)), rng.normal(size=(4, 3)), 1e-9),
    "float32 image, 5x5 kernel": (rng.normal(size=(11, 10)).astype(np.float32),
                                  rng.normal(size=(5, 5)).astype(np.float32), 1e-5),
    "kernel as large as the image": (rng.integers(-4, 5, (4, 3)), rng.integers(-4, 5, (4, 3)), 0),
    "1x1 kernel": (rng.normal(size=(5, 6)), np.array([[2.5]]), 1e-12),
    "integer image, float kernel": (rng.integers(0, 256, (7, 7)).astype(np.uint8), rng.normal(size=(3, 3)), 1e-9),
    # products up to 255 * 255: exact only if they are accumulated in a wider integer type than uint8
    "uint8 image and uint8 kernel": (rng.integers(0, 256, (6, 7)).astype(np.uint8),
                                     rng.integers(0, 256, (3, 3)).astype(np.uint8), 0),
}


@pytest.mark.target("correlate2d")
@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(case, student, reference):
    image, kernel, tol = CASES[case]
    expect_array(f"correlate2d on {case}: image {image.shape}, kernel {kernel.shape}",
                 student.call("correlate2d", image, kernel), reference.correlate2d(image, kernel),
                 rtol=tol, atol=tol)


@pytest.mark.target("correlate2d")
def test_leaves_inputs_unchanged(student):
    image, kernel = rng.normal(size=(6, 6)), rng.normal(size=(3, 3))
    outcome = student.outcome("correlate2d", image, kernel)
    if outcome.status != "ok":
        student.call("correlate2d", image, kernel)  # raises with the explanation
    expect(not outcome.modified_arguments, "correlate2d modified its input arrays; work on copies instead.",
           "correlate2d left its inputs unchanged")
