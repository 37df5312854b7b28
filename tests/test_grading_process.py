"""Grading in a long-lived process (a class-grading worker) stays deterministic."""

import re

from autograder.submissions import build_submission


def _fingerprint(result):
    """What a grading decided and said, less the CPU times it measured (they vary from run to run)."""
    return [(t["name"], t["status"], t["points"], re.sub(r"\d+(\.\d+)? ms", "N ms", t["message"]))
            for t in result["tests"]]


def test_the_same_submission_gets_the_same_checks_whatever_was_graded_before(grade):
    first = grade("01_convolution_by_hand", build_submission("01_convolution_by_hand"), "a.ipynb")
    grade("02_shapes_params_cost", build_submission("02_shapes_params_cost"), "b.ipynb")
    grade("01_convolution_by_hand", build_submission("01_convolution_by_hand", {"relu": "def relu(x):\n    return x\n"}),
          "c.ipynb")
    again = grade("01_convolution_by_hand", build_submission("01_convolution_by_hand"), "d.ipynb")
    assert _fingerprint(first) == _fingerprint(again)


def test_check_modules_are_imported_afresh_for_every_grading(grade):
    """Module-level generators in hidden checks restart from their seed each time."""
    import sys

    from autograder.assignments import CHECKS
    grade("01_convolution_by_hand", build_submission("01_convolution_by_hand"))
    leftovers = [name for name, module in sys.modules.items()
                 if str(getattr(module, "__file__", "") or "").startswith(str(CHECKS))]
    assert leftovers == []


def test_hidden_checks_state_what_they_compared_without_bare_asserts():
    """The grader runs the checks with --assert=plain (no rewriting): a bare assert would fail with
    an AssertionError that says nothing, graded as an internal error. expect_* and CheckFailed say
    what was compared."""
    import ast

    from autograder.assignments import CHECKS
    asserts = [f"{path.relative_to(CHECKS)}:{node.lineno}" for path in sorted(CHECKS.rglob("*.py"))
               for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Assert)]
    assert asserts == []
    assert len(list(CHECKS.rglob("test_*.py"))) >= 12
