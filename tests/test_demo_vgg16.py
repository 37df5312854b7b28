"""Assignment 05's demo class grades as expected, handed-in model files included (graded by the
demo_course fixture in conftest.py, in a demo course of its own;
autograder/checks/05_transfer_learning_vgg16/demo_class.py)."""

import pytest

from autograder.sandbox.launcher import available_isolation
from conftest import check_the_whole_ta_flow, demo_results, failure_messages, full_marks, target_points

ASSIGNMENT = "05_transfer_learning_vgg16"


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
    assert {t for t, p in points.items() if p == 0} == {
        "extract_features", "prepare_fine_tuning", "train_feature_classifier"}
    assert "division by 255" in failure_messages(result, "extract_features")
    assert "call model.compile(...) after changing them" in failure_messages(result, "prepare_fine_tuning")
    assert "the floor is" in failure_messages(result, "train_feature_classifier")


def test_never_started_gets_zero_with_clear_failure_messages(results):
    result = results["drew"]
    assert result["score"] == 0
    assert "NotImplementedError" in failure_messages(result, "extract_features")
    assert "feature_extraction.keras is missing from your submission" in failure_messages(
        result, "train_feature_classifier")
    assert "fine_tuning.keras is missing from your submission" in failure_messages(result, "fine_tune")


def test_attacks_cost_only_the_attacking_work(results):
    result = results["casey"]
    points = target_points(result)
    assert {t for t, p in points.items() if p > 0} == {"build_frozen_base_model", "fine_tune"}
    assert "exited" in failure_messages(result, "extract_features")
    assert "call model.compile(...) after changing them" in failure_messages(result, "prepare_fine_tuning")
    assert "Lambda" in failure_messages(result, "train_feature_classifier")
    if available_isolation() != "none":
        assert "could not find the instructor's files" in failure_messages(result, "build_feature_classifier")
    assert not result["grader_log"]


def test_the_ta_flow_records_what_the_grader_computed(demo_course):
    check_the_whole_ta_flow(demo_course, [ASSIGNMENT])
