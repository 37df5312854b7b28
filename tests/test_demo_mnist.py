"""Assignment 03's demo class grades as expected, handed-in model files included (graded by the
demo_course fixture in conftest.py, in a demo course of its own)."""

import pytest

from autograder.demo import demo_class
from conftest import check_the_whole_ta_flow, demo_results, failure_messages, full_marks, target_points

ASSIGNMENT = "03_mnist_convnet"


@pytest.fixture(scope="module")
def results(demo_course):
    return demo_results(demo_course, ASSIGNMENT)


def test_complete_and_correct_gets_full_marks(results):
    result = results["ada"]
    assert not result["grader_log"], result["grader_log"]
    assert target_points(result) == full_marks(result)
    assert result["score"] == 16


def test_typical_mistakes_lose_exactly_their_targets(results):
    result = results["brook"]
    assert not result["grader_log"], result["grader_log"]
    points = target_points(result)
    wrong = {"preprocess_images", "build_mnist_convnet_functional", "train_mnist_convnet"}
    assert {t for t, p in points.items() if p == 0} == wrong
    assert result["score"] == 6
    assert "expected 1, got 255" in failure_messages(result, "preprocess_images")
    assert "Conv2D, MaxPooling2D, Conv2D, MaxPooling2D, Conv2D, Flatten, Dense;" in \
        failure_messages(result, "build_mnist_convnet_functional")
    # trained on raw pixels: many right guesses, but with a probability near 0.1
    assert "prepared differently" in failure_messages(result, "train_mnist_convnet")


def test_attacks_cost_only_the_attacking_functions(results):
    result = results["casey"]
    assert not result["grader_log"], result["grader_log"]
    points = target_points(result)
    assert {t for t, p in points.items() if p > 0} == {"preprocess_images"}
    assert "expected a Keras model or layer, got dict" in failure_messages(result, "build_mnist_convnet")
    assert "exited" in failure_messages(result, "build_mnist_convnet_functional")
    assert "time limit" in failure_messages(result, "build_convnet_without_pooling")
    assert "Lambda" in failure_messages(result, "train_mnist_convnet")  # safe mode, in the sandbox


def test_never_started_gets_zero_with_clearfailure_messages(results):
    result = results["drew"]
    assert result["score"] == 0
    assert "NotImplementedError" in failure_messages(result, "build_mnist_convnet")
    assert "mnist_convnet.keras is missing from your submission" in failure_messages(result, "train_mnist_convnet")
    assert "model.save(\"mnist_convnet.keras\")" in failure_messages(result, "train_mnist_convnet")


@pytest.mark.parametrize("student", ["ada", "brook", "casey"])
def test_each_student_hands_in_a_model_file(student, tmp_path):
    demo_class(ASSIGNMENT, tmp_path)
    assert (tmp_path / student / "mnist_convnet.keras").is_file()
    assert not (tmp_path / "drew").exists()


def test_the_whole_ta_flow(demo_course):
    check_the_whole_ta_flow(demo_course, [ASSIGNMENT])
