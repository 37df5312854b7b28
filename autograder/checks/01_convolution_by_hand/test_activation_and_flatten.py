"""Hidden checks for relu(x) and flatten(x)."""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng

rng = hidden_rng("activation_and_flatten")

RELU_CASES = {
    "4-D float batch": rng.normal(size=(2, 5, 4, 3)),
    "1-D with exact zeros": np.array([-2.0, -0.0, 0.0, 1e-12, -1e-12, 3.5]),
    "integers": rng.integers(-50, 50, (6, 7)),
    "all negative": -np.abs(rng.normal(size=(3, 3))) - 0.1,
    "float32": rng.normal(size=(4, 4)).astype(np.float32),
}


@pytest.mark.target("relu")
@pytest.mark.parametrize("case", list(RELU_CASES))
def test_relu(case, student, reference):
    x = RELU_CASES[case]
    expect_array(f"relu on {case}, shape {x.shape}", student.call("relu", x), reference.relu(x), rtol=0, atol=0)


@pytest.mark.target("relu")
@pytest.mark.parametrize("case", ["integers", "float32"])
def test_relu_keeps_the_dtype(case, student):
    x = RELU_CASES[case]
    got = student.call("relu", x)
    dtype = got.dtype if isinstance(got, np.ndarray) else f"a {type(got).__name__}"
    expect(isinstance(got, np.ndarray) and got.dtype == x.dtype,
           f"relu on {case} of dtype {x.dtype} returned {dtype}: keep the input's dtype "
           "(np.maximum(x, 0) does; a float 0.0 turns integers into floats).",
           f"relu on {case} keeps the dtype {x.dtype}")


@pytest.mark.target("relu")
def test_relu_leaves_input_unchanged(student):
    x = rng.normal(size=(3, 4))
    outcome = student.outcome("relu", x)
    if outcome.status != "ok":
        student.call("relu", x)
    expect(not outcome.modified_arguments, "relu changed its input array in place; return a new array instead.",
           "relu left its input unchanged")


FLATTEN_SHAPES = {
    "NHWC batch (2, 3, 4, 5)": (2, 3, 4, 5),
    "single image (1, 4, 4, 2)": (1, 4, 4, 2),
    "3-D input (3, 2, 7)": (3, 2, 7),
    "already flat (4, 6)": (4, 6),
    "5-D input (2, 2, 3, 2, 2)": (2, 2, 3, 2, 2),
    "1-D input (7,): one feature per sample": (7,),
}


@pytest.mark.target("flatten")
@pytest.mark.parametrize("case", list(FLATTEN_SHAPES))
def test_flatten(case, student, reference):
    x = rng.normal(size=FLATTEN_SHAPES[case])
    expect_array(f"flatten on {case}", student.call("flatten", x), reference.flatten(x), rtol=0, atol=0)


@pytest.mark.target("flatten")
@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_flatten_keeps_the_dtype(dtype, student):
    x = rng.integers(-9, 10, (2, 3, 2, 2)).astype(dtype)
    got = student.call("flatten", x)
    kind = got.dtype if isinstance(got, np.ndarray) else f"a {type(got).__name__}"
    expect(isinstance(got, np.ndarray) and got.dtype == x.dtype,
           f"flatten on a {dtype} batch of shape {x.shape} returned {kind}: flattening only "
           "reshapes, so keep the dtype.", f"flatten keeps the dtype {dtype}")


@pytest.mark.target("flatten")
def test_flatten_leaves_input_unchanged(student):
    x = rng.normal(size=(2, 3, 4, 2))
    outcome = student.outcome("flatten", x)
    if outcome.status != "ok":
        student.call("flatten", x)
    expect(not outcome.modified_arguments, "flatten changed its input array (its values or its shape); return a "
                                           "reshaped array instead.", "flatten left its input unchanged")


@pytest.mark.target("flatten")
def test_flatten_non_contiguous_input(student, reference):
    x = rng.normal(size=(3, 4, 5, 2)).transpose(0, 2, 1, 3)  # a view, not C-contiguous
    expect_array("flatten on a transposed (non-contiguous) view of shape (3, 5, 4, 2)",
                 student.call("flatten", x), reference.flatten(x), rtol=0, atol=0)
