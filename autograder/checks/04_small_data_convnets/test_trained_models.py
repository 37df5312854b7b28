"""Hidden checks for the two trained models (targets train_convnet_from_scratch and
train_convnet_with_augmentation), graded only from the files handed in with the notebook.

The grader never trains and never opens a handed-in file in its own process. The sandbox loads
each file (Keras safe mode: a model carrying Python code, such as a Lambda layer, is refused)
and predicts the test split of make_cats_vs_dogs_small() for the active data profile, read here
the way the notebook reads it (image_dataset_from_directory, 180x180). Only the images go in;
only the predicted probabilities come back. The labels stay here, where the accuracy is computed
and compared with the floors of assignment.toml (the ``floors`` fixture picks the profile).

The predictions come from a sandbox worker that runs none of the student's cells
(``inspect_handed_in``), so they depend only on the file and the images; they are kept per file
content for the life of the grading process (a class, a test run): the same file is never
predicted twice.
"""

import contextlib
import hashlib
import io

import numpy as np
import pytest

from autograder.harness import CheckFailed, StudentFailure, expect, process_cache

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
_TEST_SETS = process_cache("04_small_data_convnets/test_sets")  # (profile, data dir) -> (images, labels)
_PREDICTIONS = process_cache("04_small_data_convnets/predictions")  # (file sha256, test set) -> predictions


def _test_set():
    from cnn_course.data import data_dir, data_profile, make_cats_vs_dogs_small
    key = (data_profile(), str(data_dir()))
    if key not in _TEST_SETS:
        import keras
        with contextlib.redirect_stdout(io.StringIO()):  # the data layer's and Keras's notices
            base = make_cats_vs_dogs_small()
            dataset = keras.utils.image_dataset_from_directory(base / "test", image_size=(180, 180), batch_size=64,
                                                               shuffle=False)
        images, labels = zip(*((x.numpy(), y.numpy()) for x, y in dataset))
        _TEST_SETS[key] = (np.concatenate(images).astype(np.float32), np.concatenate(labels).astype(np.int64), key)
    return _TEST_SETS[key]


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


def _predictions(student, target, first=False):
    """(probabilities, labels), or raises StudentFailure: the whole story for the ``first`` check of a
    target, a pointer to it for the others (one message per problem is enough)."""
    name, how_to_make = HANDED_IN[target]
    if name not in _SEEN:
        try:
            student.artifact(name, how_to_make)
            images, labels, key = _test_set()
            local = next(p for p in student.session.config.artifacts if p.name == name)
            digest = (hashlib.sha256(local.read_bytes()).hexdigest(), key)
            if digest not in _PREDICTIONS:
                chunks = [student.inspect_handed_in("predict_saved_model_batches", name, images[start:start + CHUNK],
                                                    what=f"Loading {name} and predicting", timeout=PREDICT_SECONDS)
                          for start in range(0, len(images), CHUNK)]
                shapes = {tuple(np.shape(chunk)[1:]) for chunk in chunks}
                if len(shapes) != 1:
                    raise StudentFailure("error", f"{name} predicted arrays of different shapes {sorted(shapes)}.")
                _PREDICTIONS[digest] = np.concatenate([np.asarray(c, dtype=np.float64) for c in chunks])
            _SEEN[name] = (_PREDICTIONS[digest], labels)
        except StudentFailure as failure:
            _SEEN[name] = _clearer(name, failure)
    outcome = _SEEN[name]
    if isinstance(outcome, StudentFailure):
        if first:
            raise outcome
        raise StudentFailure(outcome.status, f"{name} could not be checked: see the first check of {target}.")
    return outcome


def _usable(student, target):
    name = HANDED_IN[target][0]
    probabilities, labels = _predictions(student, target)
    if probabilities.shape not in ((len(labels), 1), (len(labels),)):
        raise CheckFailed(f"{name}: its predictions do not have one probability per image (see the check of their "
                          "shape), so they cannot be scored.")
    return probabilities.reshape(-1), labels


TARGETS = [pytest.param(target, marks=pytest.mark.target(target), id=target) for target in HANDED_IN]


@pytest.mark.parametrize("target", TARGETS)
def test_one_probability_per_image(target, student):
    name = HANDED_IN[target][0]
    probabilities, labels = _predictions(student, target, first=True)
    shape = tuple(probabilities.shape)
    expect(shape in ((len(labels), 1), (len(labels),)),
           f"{name} predicted an array of shape {shape} for {len(labels)} test images of shape (180, 180, 3); "
           f"expected ({len(labels)}, 1): one probability of 'dog' per image. Does the network end with "
           "Dense(1, activation=\"sigmoid\"), and did you hand in the file the training wrote?",
           f"{name} loads in safe mode and predicts ({len(labels)}, 1)")


@pytest.mark.parametrize("target", TARGETS)
def test_predictions_are_probabilities(target, student):
    name = HANDED_IN[target][0]
    probabilities, _ = _usable(student, target)
    finite = bool(np.all(np.isfinite(probabilities)))
    low, high = (float(np.nanmin(probabilities)), float(np.nanmax(probabilities))) if finite else (np.nan, np.nan)
    expect(finite and low >= -1e-6 and high <= 1 + 1e-6,
           f"{name}'s predictions are not probabilities: they range from {low:.3g} to {high:.3g}"
           + ("" if finite else " and include NaN or infinity")
           + ". End the network with Dense(1, activation=\"sigmoid\").",
           "every prediction is a probability between 0 and 1")


@pytest.mark.parametrize("target", TARGETS)
def test_test_accuracy_reaches_the_floor(target, student, floors):
    name = HANDED_IN[target][0]
    probabilities, labels = _usable(student, target)
    accuracy = float(np.mean((probabilities > 0.5) == (labels == 1)))
    floor = getattr(floors, target)
    expect(accuracy >= floor,
           f"{name} classifies {accuracy:.1%} of the {len(labels)} test images correctly ({floors.profile} data); "
           f"the floor is {floor:.0%}. About 50% means the network is guessing: it is untrained, or was trained for "
           "too few epochs, or expects its inputs prepared differently from the 180x180 images with values 0..255 "
           "that image_dataset_from_directory gives (the grader gives it those).",
           f"test accuracy {accuracy:.4f} on {len(labels)} images, floor {floor} ({floors.profile} data)")


@pytest.mark.parametrize("target", TARGETS)
def test_test_loss_stays_under_the_ceiling(target, student, floors):
    """Binary cross-entropy on the test images, as model.evaluate reports it. A network that expects
    inputs divided by 255 but is given the images as they are (0..255) answers every image with
    certainty, 0 or 1: its accuracy can look fine, but each wrong answer costs a loss of about 16."""
    name = HANDED_IN[target][0]
    probabilities, labels = _usable(student, target)
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
