"""Hidden checks for preprocess_images: uint8 (N, 28, 28) -> float32 (N, 28, 28, 1) in [0, 1].

Batches of several sizes (so a hard-coded 60,000 fails), with and without the extreme values 0
and 255, and a faint batch whose brightest pixel is below 255 (so scaling by the batch's own
maximum fails). The values are drawn per submission (``hidden_rng``), the shapes are fixed.
"""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng

rng = hidden_rng("preprocess_images cases")  # per submission: values drawn afresh, shapes fixed


def _random(n, high=256):
    images = rng.integers(0, high, size=(n, 28, 28)).astype(np.uint8)
    images[0, 0, 0], images[-1, 27, 27] = 0, high - 1
    return images


def _digit_like(n):
    """Dark background with a bright blob, like a digit."""
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    for k in range(n):
        top, left = rng.integers(4, 12, size=2)
        images[k, top:top + 12, left:left + 8] = rng.integers(120, 256, size=(12, 8))
    return images


CASES = {
    "5 random images with every gray level": _random(5),
    "a single image (N = 1)": _random(1),
    "3 faint images, brightest pixel 180": _random(3, high=181),
    "7 digit-like images (black background)": _digit_like(7),
    "64 random images": _random(64),
}
TARGET = pytest.mark.target("preprocess_images")


@TARGET
@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(case, student, reference):
    images = CASES[case]
    got = student.call("preprocess_images", images.copy())
    expect_array(f"preprocess_images on {case}, input shape {images.shape} uint8", got,
                 reference.preprocess_images(images), rtol=1e-6, atol=1e-7)


@TARGET
def test_returns_float32(student):
    images = CASES["5 random images with every gray level"]
    got = student.call("preprocess_images", images.copy())
    kind = f"an array of dtype {got.dtype}" if isinstance(got, np.ndarray) else f"a {type(got).__name__}"
    expect(isinstance(got, np.ndarray) and got.dtype == np.float32,
           f"preprocess_images returned {kind}; return a NumPy array of dtype float32 (Keras computes in "
           "float32, and float64 would double the memory of the 60,000 training images): for example "
           "images.astype('float32') / 255.",
           "preprocess_images returns a float32 array")


@TARGET
def test_leaves_input_unchanged(student):
    images = CASES["3 faint images, brightest pixel 180"].copy()
    outcome = student.outcome("preprocess_images", images)
    if outcome.status != "ok":
        student.call("preprocess_images", images)
    expect(not outcome.modified_arguments,
           "preprocess_images modified the images it was given; build a new array instead.",
           "preprocess_images left its argument unchanged")
