"""Assignment 06's public checks (the notebook's check cells) accept the right answers the hidden checks
accept: the catalogue's bases and VARIANTS (tests/mutants/what_convnets_learn.py), run here in this
process with the setup cell, each check cell in notebook order (later ones reuse the earlier ones'
tiny models), and the reference for every other function."""

import importlib.util
import io
import contextlib
from pathlib import Path

import pytest

from autograder.assignments import load_assignment
from autograder.notebooks import grade_id, is_grader_setup
from autograder.submissions import reference_cells

ASSIGNMENT = "06_what_convnets_learn"
CATALOGUE = Path(__file__).parent / "mutants" / "what_convnets_learn.py"


def _catalogue():
    spec = importlib.util.spec_from_file_location("catalogue_06", CATALOGUE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _answers():
    catalogue = _catalogue()
    found = [(target, "base", source) for target, source in catalogue.BASE.items()]
    found += [(target, name, source) for target, variants in catalogue.VARIANTS.items() for name, source in variants.items()]
    return found


@pytest.mark.parametrize("target,name,source", _answers(), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None)
def test_public_checks_pass_for_right_answers(target, name, source):
    cells = load_assignment(ASSIGNMENT).source().cells
    answers = reference_cells(ASSIGNMENT)
    answers[target] = source
    namespace = {"__name__": "__main__"}
    setup = next(cell.source for cell in cells if is_grader_setup(cell))
    exec(setup + "\nfrom cnn_course import checks\n", namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in cells:
            gid = grade_id(cell)
            if gid in answers and cell.cell_type == "code":
                exec(answers[gid], namespace)
            elif gid and gid.startswith("check_"):
                exec(cell.source, namespace)
    assert "PASS" in printed.getvalue()
