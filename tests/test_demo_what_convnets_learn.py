"""Assignment 06's demo class grades as expected (graded by the demo_course fixture in conftest.py, in a
demo course of its own; autograder/checks/06_what_convnets_learn/demo_class.py)."""

import pytest

from autograder.sandbox.launcher import available_isolation
from conftest import check_the_whole_ta_flow, demo_results, failure_messages, full_marks, target_points

ASSIGNMENT = "06_what_convnets_learn"


@pytest.fixture(scope="module")
def results(demo_course):
    return demo_results(demo_course, ASSIGNMENT)


def test_complete_and_correct_gets_full_marks(results):
    result = results["ada"]
    assert target_points(result) == full_marks(result), [t for t in result["tests"] if t["status"] != "passed"]
    assert not result["grader_log"]


def test_typical_mistakes_lose_exactly_their_targets(results):
    result = results["brook"]
    points = target_points(result)
    assert {t for t, p in points.items() if p == 0} == {"make_gradcam_heatmap", "superimpose_heatmap", "deprocess_image"}
    assert "values differ" in failure_messages(result, "make_gradcam_heatmap")
    assert "COLORMAP_JET" in failure_messages(result, "superimpose_heatmap")
    assert "5 standard deviations" in failure_messages(result, "deprocess_image")


def test_never_started_gets_zero_with_clear_failure_messages(results):
    result = results["drew"]
    assert result["score"] == 0
    assert "NotImplementedError" in failure_messages(result, "make_gradcam_heatmap")


def test_attacks_cost_only_the_attacking_work(results):
    result = results["casey"]
    points = target_points(result)
    assert {t for t, p in points.items() if p > 0} == {"filter_loss", "deprocess_image", "superimpose_heatmap"}
    assert "Lambda" in failure_messages(result, "activation_model")
    assert "exited" in failure_messages(result, "gradient_ascent_step")
    assert "time limit" in failure_messages(result, "generate_filter_pattern")
    if available_isolation() != "none":
        assert "could not find the instructor's files" in failure_messages(result, "make_gradcam_heatmap")
    assert not result["grader_log"]


def test_the_whole_ta_flow(demo_course):
    check_the_whole_ta_flow(demo_course, [ASSIGNMENT])
