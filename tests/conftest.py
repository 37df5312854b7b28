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


def failure_messages(result, target) -> str:
    """The messages of a target's checks that did not pass, joined."""
    return " ".join(t["message"] for t in result["tests"] if t["target"] == target and t["status"] != "passed")


@pytest.fixture(scope="session")
def demo_course(tmp_path_factory):
    """`make demo` for every assignment, run once: release, collect, grading, autograde, feedback,
    export. The test_demo*.py modules all read it; ../conftest.py puts them in one xdist group, so
    that a run with workers builds it once."""
    from autograder.demo import run_demo
    root = tmp_path_factory.mktemp("demo")
    # a private release folder: other tests read the committed one meanwhile
    assert run_demo(root / "course", workers=2, release_root=root / "release") == 0
    return root / "course"


def demo_results(course, assignment_id) -> dict:
    """student -> the grader's result for one assignment of the demo course."""
    import json
    folder = course / "autograder-results" / assignment_id
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
