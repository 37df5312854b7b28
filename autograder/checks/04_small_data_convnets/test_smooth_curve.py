"""Hidden checks for smooth_curve: the exponential moving average of a learning curve."""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng

TARGET = pytest.mark.target("smooth_curve")
rng = hidden_rng("smooth_curve cases")  # per submission: values drawn afresh, lengths fixed


def _noisy_accuracies(n):
    return list(np.clip(np.linspace(0.55, 0.8, n) + rng.normal(0, 0.04, n), 0, 1).round(4))


CASES = {  # label -> (points, factor or None for the default)
    "12 noisy validation accuracies (a Python list), default factor": (_noisy_accuracies(12), None),
    "30 noisy validation losses, factor=0.9": (list(np.abs(0.7 - np.linspace(0, 0.3, 30) + rng.normal(0, 0.05, 30))), 0.9),
    "a float64 array of 8 values, factor=0.5": (rng.uniform(0, 1, 8), 0.5),
    "a float32 array of 6 values, default factor": (rng.uniform(0, 1, 6).astype(np.float32), None),
    "integers [0, 1, 0, 1, 1], factor=0.6": ([0, 1, 0, 1, 1], 0.6),
    "factor=0: no smoothing at all": ([0.3, 0.9, 0.1, 0.5], 0.0),
    "a single point": ([0.42], None),
    "two points, default factor": ([1.0, 2.0], None),
}


def _call(student, points, factor):
    return student.call("smooth_curve", points) if factor is None else student.call("smooth_curve", points,
                                                                                   factor=factor)


@TARGET
@pytest.mark.parametrize("case", list(CASES))
def test_matches_reference(case, student, reference):
    points, factor = CASES[case]
    got = _call(student, points, factor)
    expected = reference.smooth_curve(points) if factor is None else reference.smooth_curve(points, factor=factor)
    expect_array(f"smooth_curve on {case} (one smoothed value per point)", got,
                 np.asarray(expected, dtype=np.float64), rtol=1e-6, atol=1e-9)


@TARGET
def test_first_point_is_kept(student):
    points = [0.25, 0.75, 0.5]
    got = student.call("smooth_curve", points)
    first = got[0] if isinstance(got, (list, tuple, np.ndarray)) and len(got) else None
    expect(first is not None and abs(float(first) - 0.25) < 1e-12,
           f"smooth_curve([0.25, 0.75, 0.5])[0] should be the first point itself, 0.25; got {first!r}. "
           "The average starts at the first point (s_0 = p_0), not at 0.",
           "the smoothed curve starts at the first point")


@TARGET
def test_leaves_its_argument_unchanged(student):
    points = rng.uniform(0, 1, 10)
    outcome = student.outcome("smooth_curve", points)
    if outcome.status != "ok":
        student.call("smooth_curve", points)
    expect(not outcome.modified_arguments,
           "smooth_curve changed the array it was given; build a new list or array instead.",
           "smooth_curve left its argument unchanged")
