"""The student release is generated from solutions/, is current, and leaks nothing."""

import json
import re

import nbformat
import pytest

from autograder.assignments import RELEASE, SOLUTIONS, known_assignments, load_assignment
from autograder.notebooks import grade_id, is_grader_setup, is_solution_code, nbgrader_metadata
from autograder.release import generate_all_releases

ASSIGNMENTS = known_assignments()


def _release_path(assignment_id):
    return RELEASE / assignment_id / f"{load_assignment(assignment_id).notebook_name}.ipynb"


@pytest.fixture(scope="module")
def fresh_release(tmp_path_factory):
    """Every assignment released afresh, in one nbgrader run."""
    return generate_all_releases(release_root=tmp_path_factory.mktemp("release"))


def test_the_release_has_one_folder_per_assignment(fresh_release):
    assert sorted(p.name for p in fresh_release.iterdir()) == sorted(ASSIGNMENTS)
    assert sorted(p.name for p in RELEASE.iterdir() if p.is_dir()) == sorted(ASSIGNMENTS)


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_release_is_current(assignment_id, fresh_release):
    fresh = fresh_release / assignment_id
    committed = RELEASE / assignment_id
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files, "the release's files differ: run `make release` and commit"
    for name in fresh_files:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), \
            f"{committed / name} is stale: run `make release` and commit"


def _secret_lines(source_notebook):
    """Substantial lines inside solution and hidden-test regions of the source."""
    lines, inside = [], False
    for cell in source_notebook.cells:
        for line in cell.source.split("\n"):
            text = line.strip()
            if text in ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS"):
                inside = True
            elif text in ("### END SOLUTION", "### END HIDDEN TESTS"):
                inside = False
            elif inside and len(text) >= 25 and not text.startswith(("#", "import ", "from ", "return ")):
                lines.append(text)
        meta = nbgrader_metadata(cell)
        if cell.cell_type == "markdown" and meta.get("solution"):
            lines += [t.strip() for t in cell.source.split("\n") if len(t.strip()) >= 25]
    return lines


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_release_carries_no_solution_hidden_test_or_output(assignment_id):
    source = load_assignment(assignment_id).source()
    release = nbformat.read(_release_path(assignment_id), as_version=4)
    text = "\n".join(cell.source for cell in release.cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "MARK SCHEME" not in text
    leaks = [line for line in _secret_lines(source) if line in text]
    assert not leaks, f"solution text in the release: {leaks[:3]}"
    for cell in release.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"stored output in {grade_id(cell)}"
    raw = _release_path(assignment_id).read_text()
    assert "image/png" not in raw and '"output_type"' not in raw


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_source_notebook_follows_the_authoring_conventions(assignment_id):
    """docs/AUTHORING.md: the grader depends on these."""
    assignment = load_assignment(assignment_id)
    source = assignment.source()
    ids = [grade_id(c) for c in source.cells if grade_id(c)]
    assert len(ids) == len(set(ids)), "grade_ids must be unique"
    assert sum(is_grader_setup(c) for c in source.cells) == 1, "exactly one cell tagged grader-setup"
    solution_ids = {grade_id(c) for c in source.cells if is_solution_code(c)}
    for target, info in assignment.targets.items():
        assert info["points"] > 0
        assert target in solution_ids, f"no solution cell for {target}"
        cell = next(c for c in source.cells if grade_id(c) == target)
        if re.search(rf"^def {target}\(", cell.source, re.M) is None:
            pytest.fail(f"solution cell {target} does not define {target}() at top level")
    for cell in source.cells:
        meta = nbgrader_metadata(cell)
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("locked"), f"check cell {grade_id(cell)} must be locked"
        if meta:
            assert meta.get("schema_version") == 3


@pytest.mark.parametrize("assignment_id", ASSIGNMENTS)
def test_hidden_checks_cover_every_target(assignment_id):
    assignment = load_assignment(assignment_id)
    text = "\n".join(p.read_text() for p in assignment.checks_dir.glob("test_*.py"))
    for target in assignment.targets:
        assert f'"{target}"' in text, f"no hidden check mentions {target}"


def test_solutions_and_checks_match():
    assert sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir()) == ASSIGNMENTS
    assert sorted(p.name for p in RELEASE.iterdir() if p.is_dir()) == ASSIGNMENTS
    for assignment_id in ASSIGNMENTS:
        assert assignment_id[:2].isdigit()
        json.loads(_release_path(assignment_id).read_text())
