"""Hidden checks for the trained model (target train_mnist_convnet), graded only from the file the
student hands in, mnist_convnet.keras.

The grader never trains and never opens the file in its own process. A sandbox worker that runs
none of the student's cells loads it (Keras safe mode: a model carrying Python code, such as a
Lambda layer, is refused), describes its layers, which must be those of build_mnist_convnet (so a
lookup table or a layer that mixes the images of a batch cannot pass), and predicts digits the
student never had (autograder/holdout.py: embedded profile, distorted copies drawn from the course
secret; full profile, QMNIST's 50,000 lost MNIST test digits), prepared here by the instructor's
preprocess_images, in an order drawn per submission, and a few of them one at a time. Only the
images go in; only the predicted probabilities come back. The labels stay here, where accuracy and
the mean probability of the true digit are computed and compared with the floors of
assignment.toml (the ``floors`` fixture picks the profile).
"""

import hashlib

import numpy as np
import pytest

from autograder.harness import (CheckFailed, StudentFailure, course_secret, expect, first_layer_difference,
                                process_cache)

ARTIFACT = "mnist_convnet.keras"
HOW_TO_MAKE = (f"Section 5 of the notebook trains the network with train_mnist_convnet and saves it with "
               f"model.save(\"{ARTIFACT}\"); hand in {ARTIFACT} together with the notebook, in the same "
               "folder.")
PREDICT_SECONDS = 180.0  # loading the model and predicting 2,000 images takes a few seconds
CHUNK = 2000
SINGLE_TOLERANCE = 1e-4  # an image predicted alone and in a batch: float32 rounding only
TARGET = pytest.mark.target("train_mnist_convnet")
_REFERENCE_LAYERS = process_cache("03_mnist_convnet/reference_layers")
_PREDICTIONS = process_cache("03_mnist_convnet/predictions")  # (file sha256, test set) -> predictions


def _test_set():
    from autograder.holdout import mnist_holdout
    images, labels, description = mnist_holdout(course_secret())
    return images, labels.astype(np.int64), description


def _clearer(failure: StudentFailure) -> StudentFailure:
    if "zip file" in failure.message:  # Keras says "File not found" for a file that is not a .keras archive
        return StudentFailure(failure.status, (
            f"{ARTIFACT} is not a Keras model file: model.save(\"{ARTIFACT}\") writes a zip archive, and this "
            "file is not one. Did you save the model in another format (HDF5, weights only) and rename it? "
            f"Save the trained model with model.save(\"{ARTIFACT}\")."))
    return failure


ACTIVATION_LAYERS = {"Activation": None, "ReLU": "relu", "Softmax": "softmax"}  # as in test_models.py


def _folded(stack: list) -> list:
    """The normalisation build_mnist_convnet's checks apply (test_models.layer_rows): an activation
    written as a layer of its own right after a layer without one (Conv2D then ReLU(), Dense(10) then
    Softmax()) counts as that layer's activation, so the network those checks accept, trained, has the
    architecture asked for here too."""
    rows = []
    for layer in stack:
        if layer["type"] in ACTIVATION_LAYERS and rows and rows[-1].get("activation") == "linear" \
                and not layer["params"]:
            rows[-1] = dict(rows[-1], output_shape=layer.get("output_shape"),
                            activation=ACTIVATION_LAYERS[layer["type"]] or layer.get("activation"))
            continue
        rows.append(layer)
    return rows


@pytest.fixture(scope="module")
def layers(student, reference):
    """(the handed-in file's layers, the reference's), activation layers folded, or the failure to load it."""
    from autograder.sandbox.inspectors import describe_layer_stack
    if "layers" not in _REFERENCE_LAYERS:
        _REFERENCE_LAYERS["layers"] = describe_layer_stack(reference.build_mnist_convnet())
    try:
        student.artifact(ARTIFACT, HOW_TO_MAKE)
        return _folded(student.handed_in_layers(ARTIFACT, what=f"Loading {ARTIFACT}")), _REFERENCE_LAYERS["layers"]
    except StudentFailure as failure:
        return _clearer(failure), _REFERENCE_LAYERS["layers"]


@pytest.fixture(scope="module")
def predictions(student, reference, layers):
    """(probabilities or None, labels, failure or None, single-image difference, description):
    one prediction run per submission, and only for a file with the assignment's architecture."""
    images, labels, description = _test_set()
    got, expected = layers
    if isinstance(got, StudentFailure):
        return None, labels, got, None, description
    if first_layer_difference(got, expected) is not None:
        return None, labels, StudentFailure("error", f"{ARTIFACT} was not scored: its layers are not those of "
                                                     "the network this assignment asks for (see the check of its "
                                                     "architecture)."), None, description
    prepared = reference.preprocess_images(images)
    local = next(p for p in student.session.config.artifacts if p.name == ARTIFACT)
    key = (hashlib.sha256(local.read_bytes()).hexdigest(), hashlib.sha256(prepared.tobytes()).hexdigest())
    try:
        if key not in _PREDICTIONS:  # the predictions depend on the file and the images alone
            _PREDICTIONS[key] = student.predict_handed_in(ARTIFACT, prepared, chunk=CHUNK, timeout=PREDICT_SECONDS,
                                                          what=f"Loading {ARTIFACT}")
        probabilities, single = _PREDICTIONS[key]
    except StudentFailure as failure:
        return None, labels, _clearer(failure), None, description
    return probabilities, labels, None, single, description


@TARGET
def test_architecture_is_the_assignments(layers):
    got, expected = layers
    if isinstance(got, StudentFailure):
        raise got
    difference = first_layer_difference(got, expected)
    types = " -> ".join(layer["type"] for layer in expected)
    expect(difference is None,
           f"{ARTIFACT} is not the network this assignment asks for: {difference}. Hand in the model that "
           f"build_mnist_convnet builds ({types}), trained by train_mnist_convnet; it gets no points otherwise.",
           f"{ARTIFACT} has the layers of build_mnist_convnet ({len(expected)} layers, same shapes and parameters)")


@TARGET
def test_an_image_alone_gets_the_same_answer(predictions):
    probabilities, labels, failure, single, _ = predictions
    if failure is not None:
        raise failure
    expect(single <= SINGLE_TOLERANCE,
           f"{ARTIFACT} answers differently for an image predicted alone and the same image predicted with "
           f"others (largest difference {single:.3g}, tolerance {SINGLE_TOLERANCE:g}): its answer for one "
           "image depends on the other images of the batch.",
           f"8 images predicted alone agree with their batch predictions (within {SINGLE_TOLERANCE:g})")


def _usable(predictions):
    probabilities, labels, failure, _, _ = predictions
    if failure is not None:
        raise failure
    if not isinstance(probabilities, np.ndarray) or probabilities.shape != (len(labels), 10):
        raise CheckFailed(f"{ARTIFACT}: its predictions do not have one row of 10 probabilities per image "
                          "(see the check of their shape), so they cannot be scored.")
    return probabilities, labels


@TARGET
def test_one_row_of_ten_per_image(predictions):
    probabilities, labels, failure, _, description = predictions
    if failure is not None:
        raise failure
    shape = probabilities.shape if isinstance(probabilities, np.ndarray) else None
    expect(shape == (len(labels), 10),
           f"{ARTIFACT} predicted an array of shape {shape} for {len(labels)} test images of shape "
           f"(28, 28, 1); expected ({len(labels)}, 10): one probability per digit. Is the last layer "
           "Dense(10, activation=\"softmax\"), and did you save the whole trained model?",
           f"{ARTIFACT} loads in safe mode and predicts ({len(labels)}, 10) for {description}")


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
