"""Comparisons that explain themselves.

The public checks in the notebooks and the grader's hidden checks both use these
functions, so a student sees the same kind of message in both places: what was
compared, what differed, and which tolerance applied.

Every check returns a one-line summary on success and raises ``CheckFailed`` with a
readable message on failure. Whole arrays are never printed: only shapes and the
worst element.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "CheckFailed",
    "compare_arrays",
    "compare_exact",
    "check_array",
    "check_equal",
    "check_unmodified",
    "tolerance_text",
]


class CheckFailed(AssertionError):
    """A check found a wrong answer. The message is written for the student."""


def tolerance_text(rtol: float, atol: float) -> str:
    if rtol == 0 and atol == 0:
        return "exact match"
    return f"|got - expected| <= {atol:g} + {rtol:g}*|expected|"


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def _as_numeric_array(label: str, got) -> np.ndarray:
    if isinstance(got, np.ndarray):
        array = got
    elif isinstance(got, (numbers.Number, np.generic)) and not isinstance(got, bool):
        array = np.asarray(got)
    elif isinstance(got, (list, tuple)):
        try:
            array = np.asarray(got)
        except (ValueError, TypeError):
            raise CheckFailed(f"{label}: expected a NumPy array, got a ragged {type(got).__name__}.") from None
    else:
        raise CheckFailed(f"{label}: expected a NumPy array, got {_describe(got)}.")
    if array.dtype.kind not in "biuf":
        raise CheckFailed(f"{label}: expected numbers, got an array of dtype {array.dtype}.")
    return array


def compare_arrays(label: str, got, expected, *, rtol: float = 1e-6, atol: float = 1e-8) -> str:
    """Compare ``got`` with ``expected`` element-wise, within ``atol + rtol*|expected|``.

    The dtype is not compared (the course does not grade dtypes). NaN or infinity in
    ``got`` where ``expected`` is finite is a mismatch.
    """
    expected = np.asarray(expected)
    got = _as_numeric_array(label, got)
    tol = tolerance_text(rtol, atol)
    if got.shape != expected.shape:
        raise CheckFailed(f"{label}: expected shape {expected.shape}, got shape {got.shape}.")
    if expected.size == 0:
        return f"{label}: shape {got.shape} (empty) matches"
    got64 = got.astype(np.float64)
    exp64 = expected.astype(np.float64)
    diff = np.abs(got64 - exp64)
    allowed = atol + rtol * np.abs(exp64)
    bad = ~(diff <= allowed)  # NaN in diff counts as bad
    if bad.any():
        excess = np.where(np.isnan(diff), np.inf, diff - allowed)
        worst = np.unravel_index(int(np.argmax(excess)), got.shape)
        index = tuple(int(i) for i in worst)
        raise CheckFailed(
            f"{label}: {int(bad.sum())} of {got.size} values differ "
            f"(tolerance: {tol}). Worst at index {index}: expected {exp64[worst]:.6g}, "
            f"got {got64[worst]:.6g}."
        )
    return f"{label}: shape {got.shape}, max |difference| {float(diff.max()):.2g} ({tol})"


def compare_exact(label: str, got, expected) -> str:
    """Compare plain values (ints, strings, tuples of ints) exactly.

    Integers compare by value whatever their type (``np.int64(3)`` equals ``3``); a
    float that is a whole number is accepted where an int is expected only if it is
    exactly that integer.
    """
    ok, reason = _exactly_equal(got, expected)
    if not ok:
        raise CheckFailed(f"{label}: expected {expected!r}, got {_short_repr(got)}{reason}.")
    return f"{label}: {expected!r} (exact match)"


def _exactly_equal(got, expected) -> tuple[bool, str]:
    if isinstance(got, np.ndarray) and got.ndim == 0 and got.dtype.kind in "biuf":
        got = got.item()
    if isinstance(expected, bool) or isinstance(got, bool):
        return (type(got) is bool and got == expected), ""
    if isinstance(expected, numbers.Integral):
        if isinstance(got, (numbers.Integral, np.integer)):
            return int(got) == int(expected), ""
        if isinstance(got, (numbers.Real, np.floating)) and math.isfinite(float(got)):
            return float(got) == float(expected), ""
        return False, f" ({_describe(got)})"
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return False, ""
        return all(_exactly_equal(g, e)[0] for g, e in zip(got, expected)), ""
    if isinstance(expected, str):
        return (isinstance(got, str) and got == expected), ""
    if isinstance(expected, numbers.Real):
        return (isinstance(got, (numbers.Real, np.floating)) and float(got) == float(expected)), ""
    raise TypeError(f"compare_exact does not handle {type(expected).__name__}")


def _short_repr(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_array(label: str, got, expected, *, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """Public-check form of :func:`compare_arrays`: prints a line and raises on failure."""
    print("PASS", compare_arrays(label, got, expected, rtol=rtol, atol=atol))


def check_equal(label: str, got, expected) -> None:
    """Public-check form of :func:`compare_exact`."""
    print("PASS", compare_exact(label, got, expected))


def check_unmodified(label: str, before: np.ndarray, after: np.ndarray) -> None:
    """Functions must never modify their arguments."""
    if before.shape != after.shape or not np.array_equal(before, after):
        raise CheckFailed(f"{label}: your function modified its input array; work on a copy instead.")
    print("PASS", f"{label}: input left unchanged")
