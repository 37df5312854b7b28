"""Hidden checks for the trained model (target train_mnist_convnet), graded only from the file the
student hands in, mnist_convnet.keras.

The grader never trains and never opens the file in its own process. The sandbox loads it (Keras
safe mode: a model carrying Python code, such as a Lambda layer, is refused) and predicts the test
images of load_mnist() for the active data profile, prepared here by the instructor's
preprocess_images. Only the images go in; only the predicted probabilities come back. The labels
stay here, where accuracy and the mean probability of the true digit are computed and compared
with the floors of assignment.toml (the ``floors`` fixture picks the profile).
"""

import numpy as np
import pytest

from autograder.harness import CheckFailed, StudentFailure, expect, process_cache

ARTIFACT = "mnist_convnet.keras"
HOW_TO_MAKE = (f"Section 5 of the notebook trains the network with train_mnist_convnet and saves it with "
               f"model.save(\"{ARTIFACT}\"); hand in {ARTIFACT} together with the notebook, in the same "
               "folder.")
PREDICT_SECONDS = 180.0  # loading the model and predicting 10,000 images takes a few seconds
TARGET = pytest.mark.target("train_mnist_convnet")

# (profile, data directory) -> (images, labels): the same for every submission, kept across gradings
_TEST_SETS: dict = process_cache("03_mnist_convnet/test_sets")


def _test_set():
    from cnn_course.data import data_dir, data_profile, load_mnist
    key = (data_profile(), str(data_dir()))
    if key not in _TEST_SETS:
        _, (images, labels) = load_mnist()
        _TEST_SETS[key] = (images, labels.astype(np.int64))
    return _TEST_SETS[key]


def _clearer(failure: StudentFailure) -> StudentFailure:
    if "zip file" in failure.message:  # Keras says "File not found" for a file that is not a .keras archive
        return StudentFailure(failure.status, (
            f"{ARTIFACT} is not a Keras model file: model.save(\"{ARTIFACT}\") writes a zip archive, and this "
            "file is not one. Did you save the model in another format (HDF5, weights only) and rename it? "
            f"Save the trained model with model.save(\"{ARTIFACT}\")."))
    return failure


@pytest.fixture(scope="module")
def predictions(student, reference):
    """(probabilities or None, labels, failure or None): one prediction run per submission."""
    images, labels = _test_set()
    prepared = reference.preprocess_images(images)
    try:
        student.artifact(ARTIFACT, HOW_TO_MAKE)
        probabilities = student.inspect_handed_in("predict_saved_model", ARTIFACT, prepared,
                                                  what=f"Loading {ARTIFACT}", timeout=PREDICT_SECONDS)
    except StudentFailure as failure:
        return None, labels, _clearer(failure)
    return probabilities, labels, None


def _usable(predictions):
    probabilities, labels, failure = predictions
    if failure is not None:
        raise failure
    if not isinstance(probabilities, np.ndarray) or probabilities.shape != (len(labels), 10):
        raise CheckFailed(f"{ARTIFACT}: its predictions do not have one row of 10 probabilities per image "
                          "(see the check of their shape), so they cannot be scored.")
    return probabilities, labels


@TARGET
def test_one_row_of_ten_per_image(predictions):
    probabilities, labels, failure = predictions
    if failure is not None:
        raise failure
    shape = probabilities.shape if isinstance(probabilities, np.ndarray) else None
    expect(shape == (len(labels), 10),
           f"{ARTIFACT} predicted an array of shape {shape} for {len(labels)} test images of shape "
           f"(28, 28, 1); expected ({len(labels)}, 10): one probability per digit. Is the last layer "
           "Dense(10, activation=\"softmax\"), and did you save the whole trained model?",
           f"{ARTIFACT} loads in safe mode and predicts ({len(labels)}, 10)")


@TARGET
def test_rows_are_probabilities(predictions):
    probabilities, _ = _usable(predictions)
    sums = probabilities.sum(axis=1)
    worst = float(np.max(np.abs(sums - 1.0)))
    expect(bool(np.all(np.isfinite(probabilities))) and float(probabilities.min()) >= -1e-6 and worst <= 1e-3,
           f"{ARTIFACT}'s predictions are not probabilities: each row should be 10 non-negative numbers adding "
           f"up to 1 (worst row sum off by {worst:.3g}, smallest value {float(np.nanmin(probabilities)):.3g}). "
           "End the network with Dense(10, activation=\"softmax\").",
           "every row of predictions is a probability distribution (sums within 0.001 of 1)")


@TARGET
def test_test_accuracy_reaches_the_floor(predictions, floors):
    probabilities, labels = _usable(predictions)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels))
    floor = floors.test_accuracy
    expect(accuracy >= floor,
           f"{ARTIFACT} classifies {accuracy:.2%} of the {len(labels)} test images correctly ({floors.profile} "
           f"data); the floor is {floor:.1%}. Hand in the model after training it (section 5), trained on "
           "images prepared by preprocess_images.",
           f"test accuracy {accuracy:.4f} on {len(labels)} images, floor {floor} ({floors.profile} data)")


@TARGET
def test_mean_probability_of_the_true_digit(predictions, floors):
    probabilities, labels = _usable(predictions)
    mean_true = float(np.mean(probabilities[np.arange(len(labels)), labels]))
    floor = floors.mean_true_probability
    expect(mean_true >= floor,
           f"On average {ARTIFACT} gives the right digit a probability of {mean_true:.3f} ({floors.profile} data); "
           f"the floor is {floor}. Near 0.1 the network is guessing: it is untrained, or it was trained on "
           "images prepared differently from what preprocess_images returns (for example not divided by 255), "
           "and the grader gives it images prepared by preprocess_images.",
           f"mean probability of the true digit {mean_true:.4f}, floor {floor} ({floors.profile} data)")
