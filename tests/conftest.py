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
