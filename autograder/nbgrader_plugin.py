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

import functools
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


@functools.lru_cache(maxsize=None)
def grading_context(assignment_id: str, data_profile: str, secret_digest: str) -> str:
    """Everything besides the submission that decides a score: the grader's code and version, the
    assignment's hidden checks and assignment.toml, the data profile and stand-in version, and
    the course secret (it draws the hidden cases). A change to any of them re-grades everyone."""
    from cnn_course.data import STANDIN_VERSION

    from .grading import GRADER_VERSION
    assignment = load_assignment(assignment_id)
    grader = Path(__file__).resolve().parent
    files = [p for p in sorted(grader.rglob("*")) if p.is_file() and "__pycache__" not in p.parts
             and (p.suffix == ".py" or p.is_relative_to(assignment.checks_dir))
             and not (p.is_relative_to(grader / "checks") and not p.is_relative_to(assignment.checks_dir))]
    digest = hashlib.sha256(f"{GRADER_VERSION}\0{data_profile}\0{STANDIN_VERSION}\0{secret_digest}".encode())
    for path in files + [assignment.source_path]:
        digest.update(str(path.relative_to(grader.parent)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def submission_hash(notebook, assignment_id: str, handed_in: list[Path] = (), secret: bytes = b"") -> str:
    """The cache key of a result: the submission (cells the grader runs, handed-in files) and the
    grading context."""
    from cnn_course.data import data_profile
    assignment = load_assignment(assignment_id)
    cells, missing = cells_to_run(notebook, assignment.source(), assignment.targets)
    content = {"cells": cells, "missing": missing,
               "context": grading_context(assignment_id, data_profile(), hashlib.sha256(secret).hexdigest())}
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


def reusable(result: dict) -> bool:
    """A result is reused only if nothing went wrong on the grader's side or at the limits: no
    internal error, no crash or signal the sandbox saw, no timeout."""
    return (not result.get("grader_log") and not result.get("sandbox_log")
            and not any(t.get("status") == "timeout" for t in result.get("tests", [])))


# Set by grade-class for the nbgrader autograde it runs: that run's own results are recorded as they
# are, even those not reusable in a later run (a timeout), instead of being graded a second time.
CLASS_RUN_VARIABLE = "AUTOGRADER_CLASS_RUN"


def cached_result(path: Path, digest: str, class_run: str = "") -> dict | None:
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(result, dict) or result.get("submission_sha256") != digest:
        return None
    if not reusable(result) and not (class_run and result.get("class_run") == class_run):
        return None
    return result


def grade_notebook(notebook, assignment_id: str, student_id: str, course_root: Path) -> dict:
    from .secret import course_secret
    handed_in = submitted_files(course_root, assignment_id, student_id)
    digest = submission_hash(notebook, assignment_id, handed_in, course_secret(course_root))
    path = result_path(course_root, assignment_id, student_id)
    result = cached_result(path, digest, os.environ.get(CLASS_RUN_VARIABLE, ""))
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


def restore_check_cells(notebook, assignment_id: str) -> list[str]:
    """Put back the locked check cells a student deleted, from the release, where they stood (after
    the cell that precedes them in the release). nbgrader records a score only for cells it finds,
    so without this the gradebook would miss points the grader's JSON gives. Returns their ids."""
    from .assignments import RELEASE
    assignment = load_assignment(assignment_id)
    release = RELEASE / assignment_id / f"{assignment.notebook_name}.ipynb"
    reference = nbformat.read(release, as_version=4) if release.exists() else assignment.source()
    present = {grade_id(cell) for cell in notebook.cells}
    restored = []
    for index, cell in enumerate(reference.cells):
        gid = grade_id(cell)
        if not gid or gid in present or gid not in {info["cell"] for info in assignment.targets.values()}:
            continue
        before = grade_id(reference.cells[index - 1]) if index else None
        position = next((i + 1 for i, c in enumerate(notebook.cells) if before and grade_id(c) == before),
                        len(notebook.cells))
        notebook.cells.insert(position, nbformat.from_dict(json.loads(json.dumps(cell))))
        present.add(gid)
        restored.append(gid)
    return restored


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
        restore_check_cells(nb, info["assignment"])
        write_into_notebook(nb, result)
        return nb, resources
