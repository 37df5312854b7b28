"""Hidden checks for max_pool2d and avg_pool2d (Keras MaxPooling2D / AveragePooling2D semantics)."""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng

rng = hidden_rng("pooling")

# name: (input shape NHWC, keyword arguments); negative values make 'same' padding visible
CASES = {
    "defaults (2x2 windows, stride = pool size), 6x6": ((2, 6, 6, 3), {}),
    "pool 3 with default strides on 9x7 (leftover border dropped)": ((1, 9, 7, 2), {"pool_size": 3}),
    "pool 2, stride 1, valid": ((1, 5, 6, 2), {"pool_size": 2, "strides": 1}),
    "same, 5x5, pool 2 (extra row and column at bottom/right), negative values": (
        (2, 5, 5, 2), {"pool_size": 2, "padding": "same", "negative": True}),
    "same, 8x8, pool 3, stride 2, negative values": ((1, 8, 8, 3), {"pool_size": 3, "strides": 2, "padding": "same",
                                                                     "negative": True}),
    "same, 7x6, pool 2, stride 1": ((1, 7, 6, 1), {"pool_size": 2, "strides": 1, "padding": "same"}),
    "pool (2, 3), strides (1, 2), valid": ((2, 6, 9, 2), {"pool_size": (2, 3), "strides": (1, 2)}),
    "pool (3, 2), same, 7x5": ((1, 7, 5, 4), {"pool_size": (3, 2), "padding": "same", "negative": True}),
}
FUNCTIONS = [pytest.param(name, marks=pytest.mark.target(name), id=name) for name in ("max_pool2d", "avg_pool2d")]


def _inputs(case):
    shape, kwargs = CASES[case]
    kwargs = dict(kwargs)
    negative = kwargs.pop("negative", False)
    x = rng.normal(size=shape) - (3.0 if negative else 0.0)
    return x, kwargs


INPUTS = {case: _inputs(case) for case in CASES}


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(function, case, student, reference):
    x, kwargs = INPUTS[case]
    arguments = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "defaults"
    expect_array(f"{function} on '{case}': x {x.shape}, {arguments}",
                 student.call(function, x, **kwargs), getattr(reference, function)(x, **kwargs),
                 rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_integer_input(function, student, reference):
    x = rng.integers(-9, 10, (1, 4, 4, 2))
    expect_array(f"{function} on an integer input x {x.shape}, pool_size=2",
                 student.call(function, x, pool_size=2), getattr(reference, function)(x, pool_size=2),
                 rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_leaves_inputs_unchanged(function, student):
    x = rng.normal(size=(1, 5, 5, 2))
    outcome = student.outcome(function, x, pool_size=2, padding="same")
    if outcome.status != "ok":
        student.call(function, x, pool_size=2, padding="same")
    expect(not outcome.modified_arguments, f"{function} modified its input array; work on a copy instead.",
           f"{function} left its input unchanged")
