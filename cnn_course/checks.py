"""Comparisons that explain themselves.

The public checks in the notebooks and the grader's hidden checks both use these
functions, so a student sees the same kind of message in both places: what was
compared, what differed, and which tolerance applied.

Every check returns a one-line summary on success and raises ``CheckFailed`` with a
readable message on failure. Whole arrays are never printed: only shapes, the first
element that differs and the worst one. A sequence that differs is reported by its first
differing element: its index (a path such as ``[6][2]`` inside nested sequences) and both
values, each shortened in the same way, so that the difference itself is never cut off.
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
    "first_difference",
    "tolerance_text",
]

# The longest repr of one value in a failure message; both values are cut the same way.
VALUE_LIMIT = 120


class CheckFailed(AssertionError):
    """A check found a wrong answer. The message is written for the student."""


def tolerance_text(rtol: float, atol: float) -> str:
    if rtol == 0 and atol == 0:
        return "exact match"
    return f"|got - expected| <= {atol:g} + {rtol:g}*|expected|"


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiouAEIOU' else 'a'} {name}"


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
    ``got`` where ``expected`` is finite is a mismatch. A failure names the first element
    that differs (in row-major order) and the worst one, each with its index and both values.
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
        first = np.unravel_index(int(np.argmax(bad)), got.shape)  # argmax finds the first True

        def at(index):
            return (f"index {tuple(int(i) for i in index)}: expected {exp64[index]:.6g}, "
                    f"got {got64[index]:.6g}")
        where = f"First at {at(first)}" + ("." if first == worst else f"; worst at {at(worst)}.")
        raise CheckFailed(f"{label}: {int(bad.sum())} of {got.size} values differ (tolerance: {tol}). {where}")
    return f"{label}: shape {got.shape}, max |difference| {float(diff.max()):.2g} ({tol})"


def compare_exact(label: str, got, expected) -> str:
    """Compare plain values (ints, strings, tuples of ints) exactly.

    Integers compare by value whatever their type (``np.int64(3)`` equals ``3``); a
    float that is a whole number is accepted where an int is expected only if it is
    exactly that integer. Lists and tuples compare item by item (a list may stand for a
    tuple); a failure names the first item that differs, with its index and both values.
    """
    ok, reason = _exactly_equal(got, expected)
    if not ok:
        raise CheckFailed(f"{label}: {_explain(got, expected, reason)}.")
    return f"{label}: {expected!r} (exact match)"


def first_difference(got, expected) -> tuple[tuple[int, ...], object, object] | None:
    """Where ``got`` first differs from ``expected`` under :func:`compare_exact`'s rules.

    Returns ``(path, got_item, expected_item)``, where ``path`` is the tuple of indices that
    leads from the outer sequence to the innermost element that differs (``()`` when the
    values themselves differ, e.g. a list compared with an int), or None when they are equal.
    A missing item is reported as got ``_MISSING``, an extra one as expected ``_MISSING``.
    """
    if _exactly_equal(got, expected)[0]:
        return None
    if isinstance(expected, (tuple, list)) and isinstance(got, (tuple, list)):
        for index, (g, e) in enumerate(zip(got, expected)):
            inner = first_difference(g, e)
            if inner is not None:
                path, g_item, e_item = inner
                return (index, *path), g_item, e_item
        if len(got) < len(expected):
            return (len(got),), _MISSING, expected[len(got)]
        if len(got) > len(expected):
            return (len(expected),), got[len(expected)], _MISSING
    return (), got, expected


class _Missing:
    def __repr__(self) -> str:
        return "nothing"


_MISSING = _Missing()


def _path_text(path) -> str:
    return "".join(f"[{i}]" for i in path)


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"


def _explain(got, expected, reason: str) -> str:
    """The failure message of compare_exact, after the label."""
    if not isinstance(expected, (tuple, list)):
        return _value_difference(got, expected) + reason
    kind = type(expected).__name__
    if not isinstance(got, (tuple, list)):
        return f"expected a {kind} of {_items(len(expected))}, got {_describe(got)}: {_short_repr(got)}"
    path, g_item, e_item = first_difference(got, expected)
    top = path[0]
    if len(path) == 1 and (g_item is _MISSING or e_item is _MISSING):
        lengths = f"expected {_items(len(expected))}, got {len(got)}"
        if e_item is _MISSING:
            return f"{lengths}; the first {len(expected)} agree, and item [{top}] is extra: {_short_repr(g_item)}"
        return f"{lengths}; the first {len(got)} agree, and item [{top}] is missing: expected {_short_repr(e_item)}"
    lengths = "" if len(got) == len(expected) else f"expected {_items(len(expected))}, got {len(got)}; "
    text = (f"{lengths}the first difference is item [{top}]: expected {_short_repr(expected[top])}, "
            f"got {_short_repr(got[top])}")
    if g_item is _MISSING or e_item is _MISSING:  # an inner sequence of another length: show it whole
        path = path[:-1]
        g_item, e_item = _at(got, path), _at(expected, path)
    if len(path) > 1:
        text += f"; inside it, at {_path_text(path)}: {_value_difference(g_item, e_item)}"
    return text


def _at(value, path):
    for index in path:
        value = value[index]
    return value


def _value_difference(got, expected) -> str:
    """'expected X, got Y' for two values that are not both sequences; long strings are shown
    around their first differing character, so that the difference is never cut off."""
    if isinstance(got, str) and isinstance(expected, str) and max(len(got), len(expected)) > VALUE_LIMIT:
        at = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        return (f"the strings first differ at character {at}: expected {_excerpt(expected, at)}, "
                f"got {_excerpt(got, at)}")
    text = f"expected {_short_repr(expected)}, got {_short_repr(got)}"
    if not isinstance(got, (tuple, list, str)) and isinstance(expected, (tuple, list)):
        text += f" ({_describe(got)})"
    return text


def _excerpt(text: str, at: int, width: int = 30) -> str:
    start = max(at - width, 0)
    piece = repr(text[start:at + width])
    return ("..." if start > 0 else "") + piece + ("..." if at + width < len(text) else "")


def _exactly_equal(got, expected) -> tuple[bool, str]:
    if isinstance(got, np.ndarray) and got.ndim == 0 and got.dtype.kind in "biuf":
        got = got.item()
    if isinstance(expected, bool) or isinstance(got, bool):
        return (type(got) is bool and got == expected), ""
    if isinstance(expected, numbers.Integral):
        if isinstance(got, (numbers.Integral, np.integer)):
            return int(got) == int(expected), ""
        if isinstance(got, (numbers.Real, np.floating)) and math.isfinite(float(got)):
            return float(got) == int(expected), ""  # exact: Python compares a float with an int exactly
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


def _short_repr(value, limit: int = VALUE_LIMIT) -> str:
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
