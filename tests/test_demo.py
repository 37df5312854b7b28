"""The demo class grades as expected, through the whole nbgrader flow (`make demo` for 01 and 02, run
once by the demo_course fixture). Assignments 03 and 04: test_demo_mnist.py,
test_demo_dogs_vs_cats.py."""

import csv

import pytest

from autograder.sandbox.launcher import available_isolation
from conftest import check_the_whole_ta_flow, demo_results, failure_messages, full_marks, target_points

ASSIGNMENT = "01_convolution_by_hand"
DEMO_ASSIGNMENTS = ["01_convolution_by_hand", "02_shapes_params_cost"]


@pytest.fixture(scope="module")
def results_01(demo_course):
    return demo_results(demo_course, ASSIGNMENT)


def test_complete_and_correct_gets_full_marks(results_01):
    assert target_points(results_01["ada"]) == full_marks(results_01["ada"])


def test_typical_mistakes_lose_exactly_their_functions(results_01):
    points = target_points(results_01["brook"])
    wrong = {"conv2d", "avg_pool2d", "flatten", "conv2d_fast", "conv2d_multiply_adds"}
    assert {t for t, p in points.items() if p == 0} == wrong
    assert "vectorised" in failure_messages(results_01["brook"], "conv2d_fast") or \
        "loops over the images or the output positions" in failure_messages(results_01["brook"], "conv2d_fast")


def test_never_started_gets_zero_with_a_clear_message(results_01):
    result = results_01["drew"]
    assert result["score"] == 0
    assert "NotImplementedError" in failure_messages(result, "conv2d")


def test_attacks_cost_only_the_attacking_functions(results_01):
    result = results_01["casey"]
    points = target_points(result)
    assert {t for t, p in points.items() if p > 0} == {"relu", "avg_pool2d"}
    assert "scipy.signal.correlate2d" in failure_messages(result, "correlate2d")
    assert "expected shape" in failure_messages(result, "conv2d")  # the lying array arrives as plain data
    assert "exited" in failure_messages(result, "max_pool2d")
    assert "time limit" in failure_messages(result, "flatten")
    assert "SystemExit" in failure_messages(result, "conv2d_fast")
    if available_isolation() != "none":
        assert "could not find the instructor's files" in failure_messages(result, "conv2d_multiply_adds")
    assert "output truncated" in result["student_output"]["stdout"]


def test_broken_notebooks_cost_only_their_students(demo_course, results_01):
    """erin's graded cell appears twice, finn's upload was cut: neither is graded (no result, no
    autograded score), both are named in the run's summary, and everyone else is recorded."""
    assert not {"erin", "finn"} & set(results_01)
    summary = (demo_course / "autograder-results" / ASSIGNMENT / "summary.txt").read_text()
    rows = {row["student_id"]: row for row in csv.DictReader((demo_course / "grades.csv").open())
            if row["assignment"] == ASSIGNMENT}
    for student in ("ada", "brook", "casey", "drew"):
        assert float(rows[student]["raw_score"]) == results_01[student]["score"]
    for student in ("erin", "finn"):
        assert student not in rows or float(rows[student]["raw_score"] or 0) == 0
    assert "not graded: erin: cell 'relu' appears 2 times" in summary
    assert "not graded: finn:" in summary and "not valid JSON" in summary





# -- assignment 02: output shapes, parameter counts and cost ------------------------------------

ASSIGNMENT_02 = "02_shapes_params_cost"


@pytest.fixture(scope="module")
def results_02(demo_course):
    return demo_results(demo_course, ASSIGNMENT_02)


def test_02_complete_and_correct_gets_full_marks(results_02):
    result = results_02["ada"]
    assert target_points(result) == full_marks(result)
    assert not result["grader_log"], result["grader_log"]


def test_02_typical_mistakes_lose_exactly_their_functions(results_02):
    result = results_02["brook"]
    points = target_points(result)
    wrong = {"conv_output_length", "pool_output_length", "conv2d_param_count", "corrected_same_table"}
    assert {t for t, p in points.items() if p == 0} == wrong
    assert "padding='same'" in failure_messages(result, "conv_output_length")  # the label names the case
    assert "expected 257162, got 93322" in failure_messages(result, "corrected_same_table")


def test_02_never_started_gets_zero_with_a_clear_message(results_02):
    result = results_02["drew"]
    assert result["score"] == 0
    assert "NotImplementedError" in failure_messages(result, "summarize_stack")


def test_02_attacks_cost_only_the_attacking_functions(results_02):
    result = results_02["casey"]
    points = target_points(result)
    assert {t for t, p in points.items() if p > 0} == {"dense_param_count", "corrected_same_table"}
    assert "uses keras.layers.Conv1D" in failure_messages(result, "conv_output_length")
    assert "exited" in failure_messages(result, "pool_output_length")
    assert "time limit" in failure_messages(result, "conv2d_param_count")
    # the tuples whose == always says yes arrive as plain data, and the patched helpers stayed in the sandbox
    assert "expected output shape (26, 26, 32)" in failure_messages(result, "summarize_stack")
    assert not result["grader_log"], result["grader_log"]


def test_the_whole_ta_flow_for_both_assignments(demo_course):
    check_the_whole_ta_flow(demo_course, DEMO_ASSIGNMENTS)
