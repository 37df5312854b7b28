import os
from pathlib import Path

import nbformat
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def grade(tmp_path):
    """Grade a notebook (a NotebookNode) as a submission; return the result dict."""
    from autograder.grading import grade_submission

    def run(assignment_id, notebook, name="submission.ipynb"):
        path = tmp_path / name
        nbformat.write(notebook, path)
        return grade_submission(assignment_id, path)

    return run


def target_points(result) -> dict:
    return {target: info["points"] for target, info in result["targets"].items()}


def full_marks(result) -> dict:
    return {target: info["max_points"] for target, info in result["targets"].items()}


def grade_demo_class(assignment_id, folder) -> dict:
    """Every demo student of an assignment graded directly (no nbgrader): student -> result."""
    import shutil

    from autograder.demo import demo_class
    from autograder.grading import grade_submission
    results = {}
    for student, notebook in demo_class(assignment_id, folder / "staging").items():
        own = folder / student
        own.mkdir(parents=True)
        handed_in = folder / "staging" / student
        for path in handed_in.glob("*") if handed_in.is_dir() else []:
            shutil.copy(path, own / path.name)
        nbformat.write(notebook, own / "submission.ipynb")
        results[student] = grade_submission(assignment_id, own / "submission.ipynb")
    return results
