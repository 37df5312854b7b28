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
