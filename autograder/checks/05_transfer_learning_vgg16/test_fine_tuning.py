"""Hidden checks for prepare_fine_tuning(model, conv_base, first_trainable, learning_rate).

The grader builds its own model around a small base (VGG16's layer names, 32x32 inputs, weights drawn
per submission): input -> preprocess_input -> base -> Flatten -> Dense(8, relu) -> Dense(1, sigmoid),
compiled with RMSprop, the base frozen, no augmentation or dropout (so that a training step is
deterministic). The student's worker loads it, trains it one step (its training function then
exists, as after the notebook's section 4) and hands the student's function the model and the very
base inside it. Then, in the student's worker, the returned model is saved and trained one step
(``one_training_step``); a clean worker loads the saved file, describes its trainable weights and
optimizer, and repeats the step from the file. The two steps must agree: trainable flags changed
without a new compile() are written to the file but ignored by the student's fit, so its step leaves
the newly unfrozen layers unchanged. All comparisons are made here.
"""

import math

import numpy as np
import pytest

from autograder.harness import StudentFailure, expect, hidden_rng
from autograder.sandbox.inspectors import fitted_keras_argument, layer_of_argument

SIZE, FILTERS, IMAGES = 32, (2, 2, 4, 4, 4), 8
CONVS = ["block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2", "block3_conv1", "block3_conv2",
         "block3_conv3", "block4_conv1", "block4_conv2", "block4_conv3", "block5_conv1", "block5_conv2",
         "block5_conv3"]
HEAD = ["head_hidden", "head_output"]
DRAWN_FIRST = ["block3_conv2", "block4_conv1", "block4_conv3", "block5_conv2"]
TARGET = pytest.mark.target("prepare_fine_tuning")


def _graders_model(rng):
    import keras
    from keras import layers
    from keras.applications.vgg16 import preprocess_input

    from cnn_course.pretrained import random_vgg_shaped_base
    base = random_vgg_shaped_base((SIZE, SIZE, 3), FILTERS, rng)
    base.trainable = False
    inputs = keras.Input(shape=(SIZE, SIZE, 3))
    x = base(preprocess_input(inputs))
    x = layers.Flatten()(x)
    x = layers.Dense(8, activation="relu", name=HEAD[0])(x)
    outputs = layers.Dense(1, activation="sigmoid", name=HEAD[1])(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    head = model.get_layer(HEAD[0])
    head.set_weights([rng.normal(0, 0.3, w.shape).astype("float32") for w in head.get_weights()])
    return model


@pytest.fixture(scope="module")
def cases(student):
    rng = hidden_rng("05 prepare_fine_tuning")
    drawn_first = DRAWN_FIRST[int(rng.integers(len(DRAWN_FIRST)))]
    drawn_rate = float(f"{10 ** rng.uniform(-5.5, -3.5):.3g}")
    results = []
    for label, kwargs, first, rate in (("default arguments", {}, "block5_conv1", 1e-5),
                                       (f"first_trainable={drawn_first!r}, learning_rate={drawn_rate:g}",
                                        {"first_trainable": drawn_first, "learning_rate": drawn_rate},
                                        drawn_first, drawn_rate)):
        model = _graders_model(rng)
        fit_images = rng.uniform(0, 255, (IMAGES, SIZE, SIZE, 3)).astype("float32")
        step_images = rng.uniform(0, 255, (IMAGES, SIZE, SIZE, 3)).astype("float32")
        labels = (np.arange(IMAGES) % 2).astype("float32")
        rng.shuffle(labels)
        outcome = {"label": label, "first": first, "rate": rate}
        try:
            stepped = student.call("prepare_fine_tuning", fitted_keras_argument(model, fit_images, labels),
                                   layer_of_argument(0, "vgg16"), then="one_training_step",
                                   then_args=(step_images, labels), **kwargs)
            if not (isinstance(stepped, dict) and {"saved", "after"} <= set(stepped)):
                raise StudentFailure("error", "prepare_fine_tuning's model could not be trained one step.")
            saved = student.saved_bytes(stepped["saved"], "prepare_fine_tuning")
            outcome["clean"] = student.in_clean_worker("training_step_from_keras_file", saved, step_images, labels,
                                                       what="the model prepare_fine_tuning returned")
            outcome["after"] = stepped["after"]
        except StudentFailure as failure:
            outcome["failure"] = failure
        results.append(outcome)
    return results


def _layer(path: str) -> str:
    return path.split("/")[-2] if "/" in path else path


def _ready(case):
    if "failure" in case:
        raise case["failure"]
    return case["clean"]


@TARGET
def test_the_layers_from_first_trainable_on_are_trainable(cases):
    for case in cases:
        clean = _ready(case)
        got = []
        for path in clean["trainable_weights"]:
            if _layer(path) not in got:
                got.append(_layer(path))
        expected = CONVS[CONVS.index(case["first"]):] + HEAD
        frozen_too_many = [name for name in expected if name not in got]
        open_too_many = [name for name in got if name not in expected]
        expect(got == expected,
               f"prepare_fine_tuning({case['label']}): the layers with trainable weights are {got}; expected "
               f"{expected}."
               + (f" Still frozen: {frozen_too_many}." if frozen_too_many else "")
               + (f" Trainable but should be frozen: {open_too_many}." if open_too_many else ""),
               f"prepare_fine_tuning({case['label']}): trainable from {case['first']} on, and the classifier")


@TARGET
def test_recompiled_with_rmsprop_and_the_learning_rate(cases):
    for case in cases:
        clean = _ready(case)
        rate = clean["learning_rate"]
        expect(clean["optimizer"] == "RMSprop" and rate is not None and math.isclose(rate, case["rate"], rel_tol=1e-4),
               f"prepare_fine_tuning({case['label']}): the model is compiled with {clean['optimizer']} at learning "
               f"rate {rate!r}; expected a new compile() with keras.optimizers.RMSprop(learning_rate={case['rate']:g}).",
               f"prepare_fine_tuning({case['label']}): recompiled, RMSprop at learning rate {case['rate']:g}")
        expect(clean["loss"] == "binary_crossentropy",
               f"prepare_fine_tuning({case['label']}): loss {clean['loss']!r}; expected 'binary_crossentropy'.",
               f"prepare_fine_tuning({case['label']}): loss binary_crossentropy")


@TARGET
def test_a_training_step_updates_what_the_model_says(cases):
    for case in cases:
        clean = _ready(case)
        names = [_layer(p) for p in clean["weights"]]
        before, expected, got = clean["before"], clean["after"], case["after"]
        expect(len(got) == len(expected) and all(np.shape(a) == np.shape(b) for a, b in zip(got, expected)),
               f"prepare_fine_tuning({case['label']}): the model's weights changed shape.", "")
        not_moved, wrong = [], []
        for name, start, mine, theirs in zip(names, before, got, expected):
            update = np.abs(np.asarray(theirs) - np.asarray(start))
            tolerance = 1e-2 * float(update.max()) + 1e-9
            if float(np.max(np.abs(np.asarray(mine) - np.asarray(theirs)))) > tolerance:
                moved = float(np.max(np.abs(np.asarray(mine) - np.asarray(start)))) > 1e-9
                (wrong if moved or update.max() == 0 else not_moved).append(name)
        not_moved, wrong = sorted(set(not_moved), key=names.index), sorted(set(wrong), key=names.index)
        expect(not not_moved and not wrong,
               f"prepare_fine_tuning({case['label']}): one training step of the returned model "
               + (f"left {not_moved} unchanged, though the model says they are trainable (a step from its saved file "
                  "changes them). The trainable flags changed but fit still trains the old set of weights: call "
                  "model.compile(...) after changing them. " if not_moved else "")
               + (f"changed {wrong} otherwise than a step from its saved file does." if wrong else ""),
               f"prepare_fine_tuning({case['label']}): one training step changes exactly the weights the model says "
               "are trainable, as a step from its saved file does (within 1% of the step)")


@TARGET
def test_an_unknown_layer_name_raises_value_error(student):
    # No training step first: the error must come before anything is trained.
    from autograder.sandbox.inspectors import compiled_keras_argument
    model = _graders_model(hidden_rng("05 prepare_fine_tuning unknown"))
    try:
        student.call("prepare_fine_tuning", compiled_keras_argument(model), layer_of_argument(0, "vgg16"),
                     first_trainable="block6_conv1", then="keras_model_summary")
    except StudentFailure as failure:
        expect("ValueError" in failure.message and "block6_conv1" in failure.message,
               f"prepare_fine_tuning(first_trainable='block6_conv1'), a layer the base does not have, failed, but not "
               f"with a ValueError that names it: {failure.message[:200]}",
               "first_trainable='block6_conv1' (no such layer): ValueError naming it")
        return
    expect(False, "prepare_fine_tuning(first_trainable='block6_conv1'), a layer the base does not have, returned "
                  "without an error: raise ValueError naming the layer (otherwise the whole base stays frozen, "
                  "silently).", "")
