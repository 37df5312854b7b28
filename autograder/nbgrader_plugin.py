"""nbgrader integration: hidden-check scores land in the gradebook, per check cell.

``nbgrader_config.py`` replaces nbgrader's ``Execute`` step (which would run student code
in the grader's own account) with :class:`HiddenChecks`. For each submitted notebook it
grades the student's solution cells in the sandbox, then writes the result into the
notebook's check cells: one line per hidden check, and the points as the cell's
``execute_result``, which nbgrader's ``SaveAutoGrades`` records as that cell's score.
``generate_feedback`` and ``export`` then show those scores like any others.

``python -m autograder grade-class`` grades a class in parallel first and leaves one
JSON result per student; this step reuses a result whose submission hash matches, and
grades live otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_output

from nbgrader.preprocessors import NbGraderPreprocessor

from .assignments import load_assignment
from .grading import grade_submission, handed_in_artifacts
from .notebooks import cells_to_run, grade_id
from .report import cell_problems, target_block

RESULTS_DIRECTORY = "autograder-results"


def submission_hash(notebook, assignment_id: str, handed_in: list[Path] = ()) -> str:
    assignment = load_assignment(assignment_id)
    cells, missing = cells_to_run(notebook, assignment.source(), assignment.targets)
    content = {"cells": cells, "missing": missing}
    if handed_in:  # a new model file means a new submission (and no key for assignments without files)
        content["files"] = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in handed_in}
    text = json.dumps(content, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def submitted_files(course_root: Path, assignment_id: str, student_id: str) -> list[Path]:
    """The assignment's handed-in files (trained models) in nbgrader's submitted/<student>/<assignment>/."""
    assignment = load_assignment(assignment_id)
    folder = course_root / "submitted" / student_id / assignment_id
    return handed_in_artifacts(assignment, folder / f"{assignment.notebook_name}.ipynb")


def result_path(course_root: Path, assignment_id: str, student_id: str) -> Path:
    return course_root / RESULTS_DIRECTORY / assignment_id / f"{student_id}.json"


def save_result(path: Path, result: dict) -> None:
    """Write atomically, so a crash never leaves half a result."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
        json.dump(result, handle, indent=1)
    os.replace(handle.name, path)


def cached_result(path: Path, digest: str) -> dict | None:
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return result if result.get("submission_sha256") == digest else None


def grade_notebook(notebook, assignment_id: str, student_id: str, course_root: Path) -> dict:
    handed_in = submitted_files(course_root, assignment_id, student_id)
    digest = submission_hash(notebook, assignment_id, handed_in)
    path = result_path(course_root, assignment_id, student_id)
    result = cached_result(path, digest)
    if result is None:
        with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
            copy = Path(scratch) / "submission.ipynb"
            nbformat.write(notebook, copy)
            for handed in handed_in:  # next to the copy, where the grader looks for them
                shutil.copy(handed, Path(scratch) / handed.name)
            result = grade_submission(assignment_id, copy, hidden_paths=[course_root.resolve()],
                                      course_root=course_root)
        result["submission"] = f"{student_id}/{assignment_id}"
        result["submission_sha256"] = digest
        save_result(path, result)
    return result


def write_into_notebook(notebook, result: dict) -> None:
    by_cell = {info["cell"]: target for target, info in result["targets"].items()}
    problems = {}
    for line in cell_problems(result):
        problems.setdefault(line.split(":")[0].removeprefix("cell "), []).append(line)
    for cell in notebook.cells:
        gid = grade_id(cell)
        if cell.cell_type != "code":
            continue
        if gid in by_cell:
            target = by_cell[gid]
            cell.outputs = [
                new_output("stream", name="stdout", text=target_block(result, target)),
                new_output("execute_result", data={"text/plain": f"{result['targets'][target]['points']:g}"},
                           execution_count=None),
            ]
        elif gid in problems:
            cell.outputs = [new_output("stream", name="stdout", text="\n".join(
                ["Grader: this cell could not be run as submitted."] + problems[gid]) + "\n")]
    header = (f"**Autograded score: {result['score']:g} / {result['max_score']:g}.** "
              "Hidden checks compared your functions with the instructor's on cases you have not seen; "
              "each check cell below lists what was compared and the tolerance. Written answers are graded "
              f"by hand.\n\n*Sandbox: {result['isolation_note']}.*")
    notebook.cells.insert(0, new_markdown_cell(header, metadata={"autograder": "summary"}))


class HiddenChecks(NbGraderPreprocessor):
    """Grade in the sandbox and write the hidden-check results into the check cells."""

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        result = grade_notebook(nb, info["assignment"], info["student"], Path.cwd())
        write_into_notebook(nb, result)
        return nb, resources
