"""Assignment 04's demo class grades as expected, handed-in model files included (graded by the
demo_course fixture in conftest.py, in a demo course of its own;
autograder/checks/04_small_data_convnets/demo_class.py)."""

import pytest

from autograder.sandbox.launcher import available_isolation
from conftest import check_the_whole_ta_flow, demo_results, failure_messages, full_marks, target_points

ASSIGNMENT = "04_small_data_convnets"


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
        "make_subset", "make_augmentation", "build_convnet_with_augmentation", "train_convnet_from_scratch"}
    assert "not expected" in failure_messages(result, "make_subset")
    assert "'vertical'" in failure_messages(result, "make_augmentation")
    assert "expected Rescaling" in failure_messages(result, "train_convnet_from_scratch")


def test_never_started_gets_zero_with_clearfailure_messages(results):
    result = results["drew"]
    assert result["score"] == 0
    assert "NotImplementedError" in failure_messages(result, "make_subset")
    assert "convnet_from_scratch.keras is missing from your submission" in failure_messages(result, "train_convnet_from_scratch")
    assert "convnet_with_augmentation.keras is missing" in failure_messages(result, "train_convnet_with_augmentation")


def test_attacks_cost_only_the_attacking_work(results):
    result = results["casey"]
    points = target_points(result)
    assert {t for t, p in points.items() if p > 0} == {"build_convnet_with_augmentation", "train_convnet_from_scratch"}
    assert "no longer in PetImages" in failure_messages(result, "make_subset")
    assert "exited" in failure_messages(result, "smooth_curve")
    assert "time limit" in failure_messages(result, "make_augmentation")
    assert "Lambda" in failure_messages(result, "train_convnet_with_augmentation")
    if available_isolation() != "none":
        assert "could not find the instructor's files" in failure_messages(result, "build_convnet_from_scratch")
    assert not result["grader_log"]


def test_the_whole_ta_flow(demo_course):
    check_the_whole_ta_flow(demo_course, [ASSIGNMENT])
