"""Every hidden check earns its keep: the reference passes (graded as the demo class's ada), each plausible mistake loses
exactly its own function's points, and right answers written differently get full marks.

The catalogues live in tests/mutants/<name>.py (ASSIGNMENT, BASE, MUTANTS, VARIANTS). A catalogue
whose assignment grades files handed in with the notebook (trained models) also defines
``handed_in(folder)``, which writes a correct submission's files next to the notebook, and
``HANDED_IN_TARGETS``, the targets graded only from those files: their mistakes are files, so the
catalogue's own test grades them, not this one.

A catalogue that sets ``GRADE_TOGETHER = True`` (all of them: a grading costs seconds): its mutants are then graded in bundles that hold at most one mutant per
graded function (each function's points are independent of the others'), its right answers
likewise, and its corrected bases in one grading. A bundle passes when exactly its mutants'
functions lose their points, each with failing checks of its own, and nothing else fails; the
handed-in targets, never mutated here, stay as witnesses that the rest of the notebook still works.
"""

import importlib.util
from pathlib import Path

import pytest

from autograder.submissions import build_submission
from conftest import full_marks, target_points

CATALOGUE_DIR = Path(__file__).parent / "mutants"


def _load(path):
    spec = importlib.util.spec_from_file_location(f"catalogue_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGUES = [_load(p) for p in sorted(CATALOGUE_DIR.glob("*.py"))]


def _hand_in(assignment, folder):
    """The correct handed-in files, next to the notebook that ``grade`` writes into ``folder``."""
    for catalogue in CATALOGUES:
        if catalogue.ASSIGNMENT == assignment and hasattr(catalogue, "handed_in"):
            catalogue.handed_in(folder)


def _entries(catalogue, kind):
    """(target, name, source) of every mutant, right answer or base cell of a catalogue."""
    if kind == "mutants":
        return [(m.target, m.name, m.source) for m in catalogue.MUTANTS]
    if kind == "variants":
        return [(target, name, source) for target, variants in catalogue.VARIANTS.items()
                for name, source in variants.items()]
    return [(target, "base", source) for target, source in catalogue.BASE.items()]


def _bundles(entries, together):
    """Singletons, or (``together``) the i-th entry of every target in bundle i."""
    if not together:
        return [[entry] for entry in entries]
    by_target = {}
    for entry in entries:
        by_target.setdefault(entry[0], []).append(entry)
    width = max(map(len, by_target.values()), default=0)
    return [[column[i] for column in by_target.values() if i < len(column)] for i in range(width)]


def _params(kind):
    for catalogue in CATALOGUES:
        for bundle in _bundles(_entries(catalogue, kind), getattr(catalogue, "GRADE_TOGETHER", False)):
            label = " + ".join(f"{target}:{name}" for target, name, _ in bundle)
            yield pytest.param(catalogue.ASSIGNMENT, {target: source for target, _, source in bundle},
                               id=f"{catalogue.ASSIGNMENT}:{label}")


def test_every_catalogue_has_a_demo_module_that_grades_the_reference():
    """The reference itself (the source notebook's solutions and the catalogue's correct files) is not
    graded here: it is the demo class's ada, and tests/conftest.py::check_the_whole_ta_flow asserts
    that every hidden check passes for her, in the demo module of each assignment."""
    import ast
    covered = set()
    for module in sorted(Path(__file__).parent.glob("test_demo*.py")):
        text = module.read_text()
        if "check_the_whole_ta_flow(" not in text:
            continue
        for node in ast.parse(text).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") in ("ASSIGNMENT", "DEMO_ASSIGNMENTS")
                                                    for t in node.targets):
                value = ast.literal_eval(node.value)
                covered.update([value] if isinstance(value, str) else value)
    assert {c.ASSIGNMENT for c in CATALOGUES} <= covered, {c.ASSIGNMENT for c in CATALOGUES} - covered


@pytest.mark.parametrize("assignment,cells", list(_params("base")))
def test_catalogue_base_is_correct(assignment, cells, grade, tmp_path):
    """The mutants are one change away from a correct implementation."""
    _hand_in(assignment, tmp_path)
    result = grade(assignment, build_submission(assignment, cells))
    assert target_points(result) == full_marks(result), [t for t in result["tests"] if t["status"] != "passed"]


@pytest.mark.parametrize("assignment,cells", list(_params("mutants")))
def test_mutant_loses_exactly_its_own_points(assignment, cells, grade, tmp_path):
    _hand_in(assignment, tmp_path)
    result = grade(assignment, build_submission(assignment, cells))
    assert not result["grader_log"], result["grader_log"]
    expected = full_marks(result)
    expected.update({target: 0.0 for target in cells})
    assert target_points(result) == expected
    failing = [t for t in result["tests"] if t["status"] != "passed"]
    assert {t["target"] for t in failing} == set(cells)  # each mutant fails its own checks, nothing else fails
    for test in failing:  # a student can act on the message
        assert test["message"] and "internal error" not in test["message"]


@pytest.mark.parametrize("assignment,cells", list(_params("variants")))
def test_right_answer_written_differently_gets_full_marks(assignment, cells, grade, tmp_path):
    _hand_in(assignment, tmp_path)
    result = grade(assignment, build_submission(assignment, cells))
    assert target_points(result) == full_marks(result), [t for t in result["tests"] if t["status"] != "passed"]


def test_catalogues_have_five_mutants_per_graded_function():
    from autograder.assignments import load_assignment
    for catalogue in CATALOGUES:
        targets = load_assignment(catalogue.ASSIGNMENT).targets
        for target in set(targets) - set(getattr(catalogue, "HANDED_IN_TARGETS", ())):
            count = sum(1 for m in catalogue.MUTANTS if m.target == target)
            assert count >= 5, f"{catalogue.ASSIGNMENT}:{target} has {count} mutants"
