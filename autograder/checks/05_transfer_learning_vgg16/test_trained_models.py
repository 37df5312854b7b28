"""Hidden checks for the two trained models (targets train_feature_classifier and fine_tune), graded
only from the files handed in with the notebook: feature_extraction.keras and fine_tuning.keras.

As in assignment 04, the grader never trains and never opens a handed-in file in its own process. A
sandbox worker that runs none of the student's cells loads each file (Keras safe mode), describes
its layers, which must be those of the matching build function, and predicts, in an order drawn per
submission, inputs made from images the student never had (autograder/holdout.py: cats_vs_dogs_holdout,
embedded profile stand-ins drawn from the course secret, full profile PetImages photographs outside the
lecture's subsets):

- fine_tuning.keras gets the images themselves, 180x180 with values 0..255;
- feature_extraction.keras gets their features, which the grader computes here with the course's own
  pretrained base (cnn_course.pretrained.load_conv_base: VGG16 with the ImageNet weights, or the
  embedded profile's stand-in, a file of the course checked against its SHA-256) on images prepared
  by preprocess_input, as the notebook's extract_features does.

Only inputs go in; only predicted probabilities come back; the labels stay here, where the accuracy is
compared with the floors of assignment.toml (the ``floors`` fixture picks the profile).
"""

import hashlib

import numpy as np
import pytest

from autograder.harness import (CheckFailed, StudentFailure, course_secret, expect, first_layer_difference,
                                process_cache)

PREDICT_SECONDS = 600.0  # loading a model and predicting one chunk; VGG16 on a CPU takes ~0.3 s an image
CHUNK = 100
HANDED_IN = {
    "train_feature_classifier": (
        "feature_extraction.keras",
        "Section 3.2 of the notebook trains the classifier with train_feature_classifier, whose ModelCheckpoint "
        "saves the best epoch to feature_extraction.keras; hand that file in together with the notebook, in the "
        "same folder."),
    "fine_tune": (
        "fine_tuning.keras",
        "Section 5.2 of the notebook fine-tunes the model with fine_tune, whose ModelCheckpoint saves the best "
        "epoch to fine_tuning.keras; hand that file in together with the notebook, in the same folder."),
}
BUILDERS = {"train_feature_classifier": "build_feature_classifier", "fine_tune": "build_frozen_base_model"}
SINGLE_TOLERANCE = 1e-4
_PREDICTIONS = process_cache("05_transfer_learning_vgg16/predictions")  # (file sha256, inputs) -> predictions
_COURSE = process_cache("05_transfer_learning_vgg16/course")  # the course's base, features, reference layers


def _course_base():
    from cnn_course.data import data_dir, data_profile
    key = ("base", data_profile(), str(data_dir()))
    if key not in _COURSE:
        import contextlib
        import io

        from cnn_course.pretrained import load_conv_base
        with contextlib.redirect_stdout(io.StringIO()):  # the stand-in's notice
            _COURSE[key] = load_conv_base((180, 180, 3))
    return _COURSE[key]


def _augmentation():
    import keras
    from keras import layers
    return keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.2)])


def _test_inputs(target):
    """(inputs, labels, key): the grader-held images, or their features for the feature classifier."""
    from autograder.holdout import cats_vs_dogs_holdout
    images, labels, _ = cats_vs_dogs_holdout(course_secret())
    key = hashlib.sha256(images.tobytes()).hexdigest()
    if target == "fine_tune":
        return images, labels.astype(np.int64), key
    if ("features", key) not in _COURSE:
        from keras.applications.vgg16 import preprocess_input
        _COURSE[("features", key)] = _course_base().predict(preprocess_input(images.copy()), batch_size=32, verbose=0)
    return _COURSE[("features", key)], labels.astype(np.int64), "features " + key


def _reference_layers(reference, target):
    from cnn_course.data import data_profile
    from autograder.sandbox.inspectors import describe_layer_stack
    key = ("layers", target, data_profile())
    if key not in _COURSE:
        base = _course_base()
        if target == "fine_tune":  # freezing the course's base changes nothing it predicts
            model = reference.build_frozen_base_model(base, _augmentation())
        else:
            model = reference.build_feature_classifier(tuple(base.output_shape[1:]))
        _COURSE[key] = _normalised(describe_layer_stack(model))
    return _COURSE[key]


def _normalised(leaves: list) -> list:
    """Augmentation layers before the first convolution count as coming first, as in the check of
    build_frozen_base_model (test_models._augmentation_first)."""
    first_conv = next((i for i, leaf in enumerate(leaves) if leaf["type"] == "Conv2D"), len(leaves))
    early = [i for i in range(first_conv) if leaves[i]["type"].startswith("Random")]
    return [leaves[i] for i in early] + [leaf for i, leaf in enumerate(leaves) if i not in early]


_LAYERS: dict = {}


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
            "loads every file in safe mode. Use only Keras's built-in layers and preprocess_input, as the notebook "
            "does."))
    return failure


_SEEN: dict = {}


def _predictions(student, reference, target, first=False):
    name, _ = HANDED_IN[target]
    if name not in _SEEN:
        try:
            layers = _layers(student, target)
            if first_layer_difference(layers, _reference_layers(reference, target)) is not None:
                raise StudentFailure("error", f"{name} was not scored: its layers are not those of the network "
                                              f"{BUILDERS[target]} builds (see the check of its architecture).")
            inputs, labels, key = _test_inputs(target)
            local = next(p for p in student.session.config.artifacts if p.name == name)
            digest = (hashlib.sha256(local.read_bytes()).hexdigest(), key)
            if digest not in _PREDICTIONS:
                _PREDICTIONS[digest] = student.predict_handed_in(name, inputs, chunk=CHUNK, timeout=PREDICT_SECONDS,
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
INPUTS = {"train_feature_classifier": "the features of {n} test images (the course's base on preprocess_input's "
                                      "images), of shape {shape}",
          "fine_tune": "{n} test images of shape (180, 180, 3), values 0..255"}


@pytest.mark.parametrize("target", TARGETS)
def test_architecture_is_the_assignments(target, student, reference):
    name = HANDED_IN[target][0]
    expected = _reference_layers(reference, target)
    difference = first_layer_difference(_layers(student, target), expected)
    expect(difference is None,
           f"{name} is not the network this assignment asks for: {difference}. Hand in the model that "
           f"{BUILDERS[target]} builds (around this notebook's conv_base), trained by {target}; it gets no points "
           "otherwise.",
           f"{name} has the layers of {BUILDERS[target]} ({len(expected)} steps, same shapes and parameters)")


@pytest.mark.parametrize("target", TARGETS)
def test_an_image_alone_gets_the_same_answer(target, student, reference):
    name = HANDED_IN[target][0]
    _, _, single = _predictions(student, reference, target)
    expect(single <= SINGLE_TOLERANCE,
           f"{name} answers differently for an input predicted alone and the same input predicted with others "
           f"(largest difference {single:.3g}, tolerance {SINGLE_TOLERANCE:g}): its answer for one image depends "
           "on the other images of the batch.",
           f"8 inputs predicted alone agree with their batch predictions (within {SINGLE_TOLERANCE:g})")


@pytest.mark.parametrize("target", TARGETS)
def test_one_probability_per_image(target, student, reference):
    name = HANDED_IN[target][0]
    probabilities, labels, _ = _predictions(student, reference, target, first=True)
    shape = tuple(probabilities.shape)
    given = INPUTS[target].format(n=len(labels), shape=tuple(_course_base().output_shape[1:]))
    expect(shape in ((len(labels), 1), (len(labels),)),
           f"{name} predicted an array of shape {shape} for {given}; expected ({len(labels)}, 1): one probability of "
           "'dog' per image. Does the network end with Dense(1, activation=\"sigmoid\")?",
           f"{name} loads in safe mode and predicts ({len(labels)}, 1) for {given}")


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
    hint = ("Were the training features extracted with preprocess_input alone (no division by 255), by the "
            "notebook's conv_base? The grader computes the features that way."
            if target == "train_feature_classifier" else
            "Was the model trained from section 4's checkpoint, with the base's preprocessing inside the model?")
    expect(accuracy >= floor,
           f"{name} classifies {accuracy:.1%} of the {len(labels)} test images correctly ({floors.profile} data); "
           f"the floor is {floor:.0%}. About 50% means the network is guessing: it is untrained, or was trained "
           f"for too few epochs, or on inputs prepared differently. {hint}",
           f"test accuracy {accuracy:.4f} on {len(labels)} images, floor {floor} ({floors.profile} data)")
