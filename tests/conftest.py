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


@pytest.fixture(scope="module")
def demo_course(request, tmp_path_factory):
    """`make demo` for the requesting module's assignments (its DEMO_ASSIGNMENTS, or its ASSIGNMENT),
    run once per module: release, collect, grading, autograde, feedback, export. Each demo module is
    an xdist group of its own (../conftest.py), so the courses are built side by side. The class is
    graded in this test worker (the serial engine): a local Dask cluster would import Keras and
    recompute the references in each of its workers, for each course; the Dask engine is tested
    in test_class_grading.py."""
    from autograder.demo import run_demo
    assignments = list(getattr(request.module, "DEMO_ASSIGNMENTS", None) or [request.module.ASSIGNMENT])
    root = tmp_path_factory.mktemp("demo")
    # a private release folder: other tests read the committed one meanwhile
    assert run_demo(root / "course", workers=2, assignments=assignments, release_root=root / "release",
                    engine="serial") == 0
    return root / "course"


def check_the_whole_ta_flow(course, assignments) -> None:
    """What nbgrader recorded must be what the grader computed, for every student and assignment,
    and every student gets a feedback page without the hidden checks' code."""
    import csv
    import re

    from autograder.assignments import load_assignment
    with open(course / "grades.csv") as handle:
        rows = {(row["assignment"], row["student_id"]): row for row in csv.DictReader(handle)}
    for assignment_id in assignments:
        notebook = load_assignment(assignment_id).notebook_name
        results = demo_results(course, assignment_id)
        assert sorted(results) == ["ada", "brook", "casey", "drew"], assignment_id
        for student, result in results.items():
            recorded = float(rows[(assignment_id, student)]["raw_score"])
            assert recorded == pytest.approx(result["score"]), (assignment_id, student)
            page = (course / "feedback" / student / assignment_id / f"{notebook}.html").read_text()
            assert "Autograded score" in page and "Hidden checks for" in page
            # the hidden checks' code never reaches a student
            assert not re.search(r"def test_|@pytest|expect_array\(|process_cache", page)
        assert results["ada"]["score"] == results["ada"]["max_score"] and results["drew"]["score"] == 0
        # ada hands in the reference (the source notebook's solutions and the catalogue's correct files):
        # every hidden check passes and nothing goes wrong on the grader's side. tests/test_mutants.py
        # leaves the reference to this test rather than grading it a second time.
        assert not results["ada"]["grader_log"], (assignment_id, results["ada"]["grader_log"])
        assert all(t["status"] == "passed" for t in results["ada"]["tests"]), \
            (assignment_id, [t for t in results["ada"]["tests"] if t["status"] != "passed"])


def demo_results(course, assignment_id) -> dict:
    """student -> the grader's result for one assignment of the demo course."""
    import json
    folder = course / "autograder-results" / assignment_id
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}
