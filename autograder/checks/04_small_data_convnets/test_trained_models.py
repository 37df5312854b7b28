"""Hidden checks for the two trained models (targets train_convnet_from_scratch and
train_convnet_with_augmentation), graded only from the files handed in with the notebook.

The grader never trains and never opens a handed-in file in its own process. A sandbox worker that
runs none of the student's cells loads each file (Keras safe mode: a model carrying Python code,
such as a Lambda layer, is refused), describes its layers, which must be those of the matching
build function (so a lookup table or a layer that mixes a batch's images cannot pass), and predicts
images the student never had (autograder/holdout.py: embedded profile, stand-ins drawn from the
course secret; full profile, PetImages photographs outside the lecture's subsets), read the way the
notebook reads images (image_dataset_from_directory, 180x180), in an order drawn per submission, and
a few of them one at a time. Only the images go in; only the predicted probabilities come back. The
labels stay here, where the accuracy is computed and compared with the floors of assignment.toml
(the ``floors`` fixture picks the profile).

The predictions depend only on the file and the images, so they are kept per file content for the
life of the grading process (a class, a test run): the same file is never predicted twice.
"""

import hashlib

import numpy as np
import pytest

from autograder.harness import (CheckFailed, StudentFailure, course_secret, expect, first_layer_difference,
                                process_cache)

PREDICT_SECONDS = 240.0  # loading a model and predicting one chunk; the full test set is 2,000 images
CHUNK = 100  # images per call: 100 x 180 x 180 x 3 float32 is 39 MB
HANDED_IN = {
    "train_convnet_from_scratch": (
        "convnet_from_scratch.keras",
        "Section 4 of the notebook trains the network with train_convnet_from_scratch, whose ModelCheckpoint "
        "saves the best epoch to convnet_from_scratch.keras; hand that file in together with the notebook, in the "
        "same folder."),
    "train_convnet_with_augmentation": (
        "convnet_with_augmentation.keras",
        "Section 7 of the notebook trains the network with train_convnet_with_augmentation, whose ModelCheckpoint "
        "saves the best epoch to convnet_with_augmentation.keras; hand that file in together with the notebook, in "
        "the same folder."),
}
BUILDERS = {"train_convnet_from_scratch": "build_convnet_from_scratch",
            "train_convnet_with_augmentation": "build_convnet_with_augmentation"}
SINGLE_TOLERANCE = 1e-4  # an image predicted alone and in a batch: float32 rounding only
_PREDICTIONS = process_cache("04_small_data_convnets/predictions")  # (file sha256, test set) -> predictions
_REFERENCE_LAYERS = process_cache("04_small_data_convnets/reference_layers")


def _test_set():
    from autograder.holdout import cats_vs_dogs_holdout
    images, labels, description = cats_vs_dogs_holdout(course_secret())
    key = hashlib.sha256(images.tobytes()).hexdigest()
    return images, labels.astype(np.int64), key


def _reference_layers(reference, target):
    from autograder.sandbox.inspectors import describe_layer_stack
    if target not in _REFERENCE_LAYERS:
        _REFERENCE_LAYERS[target] = describe_layer_stack(getattr(reference, BUILDERS[target])())
    return _REFERENCE_LAYERS[target]


_LAYERS: dict = {}  # this grading's layers of each handed-in file (or the failure to load it)


def _normalised(leaves: list) -> list:
    """The two differences the build functions' checks accept (test_models._split and the check that
    the augmentation stage comes first), so that the network they accept, trained, has the architecture
    asked for here too: augmentation layers anywhere before the first convolution count as coming first
    (they do nothing at prediction), and a Dropout right before Flatten counts as right after it."""
    first_conv = next((i for i, leaf in enumerate(leaves) if leaf["type"] == "Conv2D"), len(leaves))
    early = [i for i in range(first_conv) if leaves[i]["type"].startswith("Random")]
    core = [leaf for i, leaf in enumerate(leaves) if i not in early]
    for i in range(len(core) - 1):
        if core[i]["type"] == "Dropout" and core[i + 1]["type"] == "Flatten":
            core[i], core[i + 1] = core[i + 1], dict(core[i], output_shape=core[i + 1].get("output_shape"))
    return [leaves[i] for i in early] + core


def _layers(student, target):
    name, how_to_make = HANDED_IN[target]
    if name not in _LAYERS:
        try:
            student.artifact(name, how_to_make)
            _LAYERS[name] = _normalised(student.handed_in_layers(name, what=f"Loading {name}"))
        except StudentFailure as failure:
            _LAYERS[name] = _clearer(name, failure)
    if isinstance(_LAYERS[name], StudentFailure):
        raise _LAYERS[name]
    return _LAYERS[name]


def _clearer(name: str, failure: StudentFailure) -> StudentFailure:
    message = failure.message
    if "zip file" in message or "File not found" in message or "not a valid" in message.lower():
        return StudentFailure(failure.status, (
            f"{name} is not a Keras model file: the ModelCheckpoint of the notebook (or model.save(\"{name}\")) "
            "writes a .keras zip archive, and this file is not one. Did you save weights only, or another format, "
            f"under this name? Hand in the {name} that training wrote."))
    if "Lambda" in message or "safe_mode" in message:
        return StudentFailure(failure.status, (
            f"{name} holds Python code (a Lambda layer), which Keras refuses to load in safe mode, and the grader "
            "loads every file in safe mode. Use only Keras's built-in layers, as the notebook does."))
    return failure


_SEEN: dict = {}  # this grading's predictions (or failure), per file name


def _predictions(student, reference, target, first=False):
    """(probabilities, labels, single-image difference), or raises StudentFailure: the whole story for
    the ``first`` check of a target, a pointer to it for the others (one message per problem is enough).
    A file without the assignment's architecture is not scored at all."""
    name, how_to_make = HANDED_IN[target]
    if name not in _SEEN:
        try:
            layers = _layers(student, target)
            if first_layer_difference(layers, _reference_layers(reference, target)) is not None:
                raise StudentFailure("error", f"{name} was not scored: its layers are not those of the network "
                                              f"{BUILDERS[target]} builds (see the check of its architecture).")
            images, labels, key = _test_set()
            local = next(p for p in student.session.config.artifacts if p.name == name)
            digest = (hashlib.sha256(local.read_bytes()).hexdigest(), key)
            if digest not in _PREDICTIONS:
                _PREDICTIONS[digest] = student.predict_handed_in(name, images, chunk=CHUNK, timeout=PREDICT_SECONDS,
                                                                 what=f"Loading {name} and predicting")
            probabilities, single = _PREDICTIONS[digest]
            _SEEN[name] = (probabilities, labels, single)
        except StudentFailure as failure:
            _SEEN[name] = _clearer(name, failure)
    outcome = _SEEN[name]
    if isinstance(outcome, StudentFailure):
        if first:
            raise outcome
        raise StudentFailure(outcome.status, f"{name} could not be checked: see the first check of {target}.")
    return outcome


def _usable(student, reference, target):
    name = HANDED_IN[target][0]
    probabilities, labels, _ = _predictions(student, reference, target)
    if probabilities.shape not in ((len(labels), 1), (len(labels),)):
        raise CheckFailed(f"{name}: its predictions do not have one probability per image (see the check of their "
                          "shape), so they cannot be scored.")
    return probabilities.reshape(-1), labels


TARGETS = [pytest.param(target, marks=pytest.mark.target(target), id=target) for target in HANDED_IN]


@pytest.mark.parametrize("target", TARGETS)
def test_architecture_is_the_assignments(target, student, reference):
    name = HANDED_IN[target][0]
    expected = _reference_layers(reference, target)
    difference = first_layer_difference(_layers(student, target), expected)
    expect(difference is None,
           f"{name} is not the network this assignment asks for: {difference}. Hand in the model that "
           f"{BUILDERS[target]} builds, trained by {target}; it gets no points otherwise.",
           f"{name} has the layers of {BUILDERS[target]} ({len(expected)} layers, same shapes and parameters)")


@pytest.mark.parametrize("target", TARGETS)
def test_an_image_alone_gets_the_same_answer(target, student, reference):
    name = HANDED_IN[target][0]
    _, _, single = _predictions(student, reference, target)
    expect(single <= SINGLE_TOLERANCE,
           f"{name} answers differently for an image predicted alone and the same image predicted with others "
           f"(largest difference {single:.3g}, tolerance {SINGLE_TOLERANCE:g}): its answer for one image depends "
           "on the other images of the batch.",
           f"8 images predicted alone agree with their batch predictions (within {SINGLE_TOLERANCE:g})")


@pytest.mark.parametrize("target", TARGETS)
def test_one_probability_per_image(target, student, reference):
    name = HANDED_IN[target][0]
    probabilities, labels, _ = _predictions(student, reference, target, first=True)
    shape = tuple(probabilities.shape)
    expect(shape in ((len(labels), 1), (len(labels),)),
           f"{name} predicted an array of shape {shape} for {len(labels)} test images of shape (180, 180, 3); "
           f"expected ({len(labels)}, 1): one probability of 'dog' per image. Does the network end with "
           "Dense(1, activation=\"sigmoid\"), and did you hand in the file the training wrote?",
           f"{name} loads in safe mode and predicts ({len(labels)}, 1)")


@pytest.mark.parametrize("target", TARGETS)
def test_predictions_are_probabilities(target, student, reference):
    name = HANDED_IN[target][0]
    probabilities, _ = _usable(student, reference, target)
    finite = bool(np.all(np.isfinite(probabilities)))
    low, high = (float(np.nanmin(probabilities)), float(np.nanmax(probabilities))) if finite else (np.nan, np.nan)
    expect(finite and low >= -1e-6 and high <= 1 + 1e-6,
           f"{name}'s predictions are not probabilities: they range from {low:.3g} to {high:.3g}"
           + ("" if finite else " and include NaN or infinity")
           + ". End the network with Dense(1, activation=\"sigmoid\").",
           "every prediction is a probability between 0 and 1")


@pytest.mark.parametrize("target", TARGETS)
def test_test_accuracy_reaches_the_floor(target, student, reference, floors):
    name = HANDED_IN[target][0]
    probabilities, labels = _usable(student, reference, target)
    accuracy = float(np.mean((probabilities > 0.5) == (labels == 1)))
    floor = getattr(floors, target)
    expect(accuracy >= floor,
           f"{name} classifies {accuracy:.1%} of the {len(labels)} test images correctly ({floors.profile} data); "
           f"the floor is {floor:.0%}. About 50% means the network is guessing: it is untrained, or was trained for "
           "too few epochs, or expects its inputs prepared differently from the 180x180 images with values 0..255 "
           "that image_dataset_from_directory gives (the grader gives it those).",
           f"test accuracy {accuracy:.4f} on {len(labels)} images, floor {floor} ({floors.profile} data)")


@pytest.mark.parametrize("target", TARGETS)
def test_test_loss_stays_under_the_ceiling(target, student, reference, floors):
    """Binary cross-entropy on the test images, as model.evaluate reports it. A network that expects
    inputs divided by 255 but is given the images as they are (0..255) answers every image with
    certainty, 0 or 1: its accuracy can look fine, but each wrong answer costs a loss of about 16."""
    name = HANDED_IN[target][0]
    probabilities, labels = _usable(student, reference, target)
    clipped = np.clip(probabilities, 1e-7, 1 - 1e-7)
    loss = float(np.mean(-np.where(labels == 1, np.log(clipped), np.log(1 - clipped))))
    ceiling = getattr(floors, f"{target}_max_test_loss")
    certain = float(np.mean((probabilities < 1e-6) | (probabilities > 1 - 1e-6)))
    expect(loss <= ceiling,
           f"{name} has a test loss (binary cross-entropy) of {loss:.2f} on the {len(labels)} test images "
           f"({floors.profile} data); the ceiling is {ceiling}. It is certain (probability 0 or 1) about "
           f"{certain:.0%} of the images, so its mistakes cost a lot. A network trained on images divided by 255 "
           "but given 0..255 images does this: the grader gives it the images as image_dataset_from_directory "
           "returns them, so the division by 255 belongs in the model, as its Rescaling layer. Hand in the "
           "file the checkpoint kept (the epoch with the lowest validation loss).",
           f"test loss {loss:.3f}, ceiling {ceiling} ({floors.profile} data)")
