"""Reading notebooks and picking out the cells the grader runs."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat


class SubmissionError(Exception):
    """The input cannot be graded. The message says what is wrong and what to do."""


def read_notebook(path: Path, role: str = "submission") -> nbformat.NotebookNode:
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{role} notebook not found: {path}. Check the path; a student who "
                              "submitted nothing gets zero through the class workflow.")
    if path.is_dir():
        raise SubmissionError(f"{path} is a directory; pass the .ipynb file itself.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SubmissionError(f"{path} is not a text file; a notebook is UTF-8 JSON. Ask the student to "
                              "re-download it from JupyterLab (File > Download).") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(f"{path} is not valid JSON ({error.msg} at line {error.lineno}), so it is "
                              "not a readable notebook. Ask the student to open it in JupyterLab, save "
                              "it and submit again.") from None
    except (RecursionError, ValueError):
        raise SubmissionError(f"{path} is JSON nested too deeply (or holds a number too long) to be a "
                              "notebook. Ask the student to open it in JupyterLab, save it and submit "
                              "again.") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise SubmissionError(f"{path} is JSON but not a Jupyter notebook (no 'cells').")
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises several kinds on malformed input
        first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise SubmissionError(f"{path} is not a valid notebook ({first_line}). Ask the student to open it "
                              "in JupyterLab, save it and submit again.") from None
    return notebook


def nbgrader_metadata(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    value = nbgrader_metadata(cell).get("grade_id")
    return value if isinstance(value, str) else None


def is_solution_code(cell) -> bool:
    return cell.get("cell_type") == "code" and nbgrader_metadata(cell).get("solution") is True


def is_grader_setup(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return cell.get("cell_type") == "code" and isinstance(tags, list) and "grader-setup" in tags


def check_cells(source: nbformat.NotebookNode) -> dict[str, dict]:
    """Check cells of the source notebook: target name -> {cell, points}."""
    targets = {}
    for cell in source.cells:
        meta = nbgrader_metadata(cell)
        gid = grade_id(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution") and gid \
                and gid.startswith("check_"):
            targets[gid[len("check_"):]] = {"cell": gid, "points": float(meta.get("points", 0))}
    return targets


def cells_to_run(submission: nbformat.NotebookNode, source: nbformat.NotebookNode,
                 targets) -> tuple[list[dict], list[str]]:
    """The setup cells (from the trusted source) and the student's solution cells for the
    graded ``targets``, in the source's order. Ungraded exercises are not run.

    Returns the cells and the ids of graded solution cells the submission lacks.
    """
    submitted = {}
    for cell in submission.cells:
        gid = grade_id(cell)
        if gid and is_solution_code(cell) and gid not in submitted:
            submitted[gid] = cell.source
    cells, missing = [], []
    for cell in source.cells:
        gid = grade_id(cell) or "setup"
        if is_grader_setup(cell):
            cells.append({"id": gid, "source": cell.source})
        elif is_solution_code(cell) and gid in targets:
            if gid in submitted:
                cells.append({"id": gid, "source": submitted[gid]})
            else:
                missing.append(gid)
    return cells, missing
