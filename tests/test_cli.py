"""`python -m autograder grade`: the contract, and clear messages for bad input."""

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.submissions import build_submission

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_convolution_by_hand"


def run(*args):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


def test_grade_writes_the_result_contract(tmp_path):
    notebook = tmp_path / "ada.ipynb"
    nbformat.write(build_submission(ASSIGNMENT, {"relu": "def relu(x):\n    return x\n"}), notebook)
    out = tmp_path / "result.json"
    process = run("grade", ASSIGNMENT, str(notebook), "--json", str(out))
    assert process.returncode == 0, process.stderr
    result = json.loads(out.read_text())
    assert set(result) >= {"assignment_id", "score", "max_score", "tests", "environment"}
    assert result["assignment_id"] == ASSIGNMENT and result["max_score"] == 20
    assert result["score"] == 19
    for test in result["tests"]:
        assert set(test) == {"name", "target", "points", "max_points", "status", "message"}
        assert test["status"] in {"passed", "failed", "error", "timeout"}
    assert {"python", "numpy", "device", "isolation", "grader_version"} <= set(result["environment"])
    assert "relu" in process.stdout and "What to fix" in process.stdout


def test_same_submission_same_score(tmp_path):
    notebook = tmp_path / "s.ipynb"
    nbformat.write(build_submission(ASSIGNMENT, {"flatten": "def flatten(x):\n    return x.reshape(-1)\n"}),
                   notebook)
    results = []
    for i in range(2):
        run("grade", ASSIGNMENT, str(notebook), "--json", str(tmp_path / f"r{i}.json"))
        result = json.loads((tmp_path / f"r{i}.json").read_text())
        results.append([(t["name"], t["points"], t["status"], re.sub(r"\d+(\.\d+)? ms", "N ms", t["message"]))
                        for t in result["tests"]])
    assert results[0] == results[1]


@pytest.mark.parametrize("case,expected", [
    ("missing", "notebook not found"),
    ("not json", "not valid JSON"),
    ("not a notebook", "not a Jupyter notebook"),
    ("directory", "is a directory"),
    ("unknown assignment", "unknown assignment '99_nope'. Known assignments: 01_convolution_by_hand"),
])
def test_bad_input_gets_a_clear_message_and_nonzero_exit(case, expected, tmp_path):
    path = tmp_path / "submission.ipynb"
    assignment = ASSIGNMENT
    if case == "not json":
        path.write_text('{"cells": [')
    elif case == "not a notebook":
        path.write_text('{"hello": 1}')
    elif case == "directory":
        path = tmp_path
    elif case == "unknown assignment":
        assignment = "99_nope"
        nbformat.write(build_submission(ASSIGNMENT), path)
    process = run("grade", assignment, str(path))
    assert process.returncode == 2
    assert expected in process.stderr and "Traceback" not in process.stderr


def test_missing_cells_are_reported(tmp_path):
    notebook = build_submission(ASSIGNMENT)
    notebook.cells = [c for c in notebook.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") != "relu"]
    path = tmp_path / "s.ipynb"
    nbformat.write(notebook, path)
    process = run("grade", ASSIGNMENT, str(path), "--json", str(tmp_path / "r.json"))
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["missing_cells"] == ["relu"] and result["targets"]["relu"]["points"] == 0
    assert result["score"] == 19
    assert "relu is not defined" in process.stdout


def test_list_names_the_assignments():
    process = run("list")
    assert process.returncode == 0 and ASSIGNMENT in process.stdout
