"""Hidden checks for build_feature_classifier and build_frozen_base_model.

Each model a builder returns is saved as a ``.keras`` file in the student's worker and described in a
sandbox worker that never ran the student's code (layers and the ``keras.ops`` operations of the graph,
output shapes, parameters, activations, trainable weights, compile settings); the description is
compared here with the instructor's model, described the same way.

build_frozen_base_model gets a base and an augmentation stage of the grader's (VGG16's layer names,
64x64 inputs, weights drawn per submission). Besides its description, the clean worker predicts
grader images with the returned model (training=False) and sends back its weights: the grader puts
those weights into the instructor's network and predicts the same images here. The two must agree,
so that preprocessing left out, done twice or preceded by a division by 255 cannot pass.
"""

import math

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng
from autograder.sandbox.inspectors import keras_argument, keras_model_description

CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "rate", "scale", "offset")
ACCURACY_NAMES = {"accuracy", "acc", "binary_accuracy"}
# One drawn per submission, besides the stand-in base's (5, 5, 64); VGG16's (5, 5, 512) makes a 13 MB model
# whose description takes seconds, and the notebook's public check builds it already.
FEATURE_SHAPES = [(3, 3, 16), (2, 4, 8), (4, 2, 12), (3, 2, 10)]
BASE_SIZE, BASE_FILTERS, PROBES = 64, (4, 4, 8, 8, 8), 6
FEATURE_CLASSIFIER = pytest.mark.target("build_feature_classifier")
FROZEN = pytest.mark.target("build_frozen_base_model")


def _same_value(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-3,
                                                                                              abs_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return a == b


def _describe(leaf) -> str:
    parts = [leaf["type"]]
    if leaf.get("output_shape"):
        parts.append(f"output {tuple(leaf['output_shape'][1:])}")
    parts.append(f"{leaf['params']:,} parameters")
    if leaf.get("activation") not in (None, "linear"):
        parts.append(f"activation {leaf['activation']}")
    settings = {k: v for k, v in leaf["config"].items() if k in ("units", "rate", "filters", "scale")}
    if settings:
        parts.append(", ".join(f"{k}={v}" for k, v in settings.items()))
    return ", ".join(parts)


def _first_difference(got, expected):
    for index, (mine, theirs) in enumerate(zip(got, expected)):
        same = (mine["type"] == theirs["type"] and mine["params"] == theirs["params"]
                and (mine.get("activation") or "linear") == (theirs.get("activation") or "linear")
                and _same_value(mine.get("output_shape"), theirs.get("output_shape"))
                and all(_same_value(mine["config"].get(k), theirs["config"].get(k)) for k in CONFIG_KEYS
                        if k in theirs["config"]))
        if not same:
            return f"step {index + 1} is {_describe(mine)}; expected {_describe(theirs)}"
    if len(got) != len(expected):
        return (f"{len(got)} steps instead of {len(expected)}: "
                + (f"unexpected {_describe(got[len(expected)])} at the end" if len(got) > len(expected)
                   else f"the last one, {_describe(expected[len(got)])}, is missing"))
    return None


def _augmentation_first(leaves):
    """Augmentation layers count as coming first wherever they are before the base: at prediction they
    pass the images through, and flipping, turning or zooming before or after preprocess_input (a per-pixel
    shift and a channel swap) is the same operation."""
    first_conv = next((i for i, leaf in enumerate(leaves) if leaf["type"] == "Conv2D"), len(leaves))
    early = [i for i in range(first_conv) if leaves[i]["type"].startswith("Random")]
    return [leaves[i] for i in early] + [leaf for i, leaf in enumerate(leaves) if i not in early]


def _check_compile(builder, got, learning_rate=1e-3):
    loss = got.get("loss_function") or got.get("loss")
    expect(got["compiled"] and got["optimizer"] is not None,
           f"{builder} returns a model that is not compiled: call model.compile(...) before returning it.",
           f"{builder}: compiled")
    rate = got["learning_rate"]
    expect(got["optimizer"] == "RMSprop" and rate is not None and math.isclose(rate, learning_rate, rel_tol=1e-4),
           f"{builder}: optimizer {got['optimizer']} with learning rate {rate!r}; expected RMSprop with its default "
           f"learning rate {learning_rate:g} (optimizer=\"rmsprop\").", f"{builder}: RMSprop, learning rate {learning_rate:g}")
    expect(loss == "binary_crossentropy",
           f"{builder}: loss {loss!r}; expected 'binary_crossentropy' (one sigmoid output, labels 0 and 1).",
           f"{builder}: loss binary_crossentropy")
    expect(bool(ACCURACY_NAMES & set(got["metrics"])),
           f"{builder}: metrics {got['metrics']}; expected accuracy among them (metrics=[\"accuracy\"]).",
           f"{builder}: metric accuracy")


def _check_steps(builder, got, expected, what):
    difference = _first_difference(got, expected)
    types = " -> ".join(leaf["type"].replace(" (a keras.ops operation)", "") for leaf in expected)
    expect(difference is None, f"{builder}: {difference}. Expected {what}: {types}.",
           f"{builder}: {len(expected)} steps with the expected types, output shapes, parameters, activations and "
           "settings")


# -- build_feature_classifier ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def feature_shapes():
    drawn = FEATURE_SHAPES[int(hidden_rng("05 feature shapes").integers(len(FEATURE_SHAPES)))]
    return [(5, 5, 64), drawn]


@pytest.fixture(scope="module")
def classifiers(student, reference, feature_shapes):
    return [(shape, student.describe("build_feature_classifier", shape),
             keras_model_description(reference.build_feature_classifier(shape))) for shape in feature_shapes]


@FEATURE_CLASSIFIER
def test_feature_classifier_input_and_layers(classifiers):
    for shape, got, expected in classifiers:
        builder = f"build_feature_classifier({shape})"
        expect(_same_value(got["input_shape"], expected["input_shape"]),
               f"{builder}: the model's input shape is {got['input_shape']}; expected {expected['input_shape']} (one "
               "image's features, of the shape given).", f"{builder}: input shape {expected['input_shape']}")
        _check_steps(builder, got["leaves"], expected["leaves"],
                     "Flatten -> Dense(256, relu) -> Dropout(0.5) -> Dense(1, sigmoid)")
        expect(got["total_params"] == expected["total_params"],
               f"{builder}: {got['total_params']:,} parameters; expected {expected['total_params']:,}.",
               f"{builder}: {expected['total_params']:,} parameters")


@FEATURE_CLASSIFIER
def test_feature_classifier_compile_settings(classifiers):
    for shape, got, _ in classifiers:
        _check_compile(f"build_feature_classifier({shape})", got)


# -- build_frozen_base_model -------------------------------------------------------------------------

def _augmentation():
    import keras
    from keras import layers
    return keras.Sequential([keras.Input(shape=(BASE_SIZE, BASE_SIZE, 3)), layers.RandomFlip("horizontal"),
                             layers.RandomRotation(0.1), layers.RandomZoom(0.2)], name="graders_augmentation")


@pytest.fixture(scope="module")
def frozen_case(student, reference):
    from cnn_course.pretrained import random_vgg_shaped_base
    rng = hidden_rng("05 frozen base")
    weights = random_vgg_shaped_base((BASE_SIZE, BASE_SIZE, 3), BASE_FILTERS, rng).get_weights()
    images = rng.uniform(0, 255, (PROBES, BASE_SIZE, BASE_SIZE, 3)).astype("float32")

    def base():
        model = random_vgg_shaped_base((BASE_SIZE, BASE_SIZE, 3), BASE_FILTERS, np.random.default_rng(0))
        model.set_weights(weights)
        return model

    arguments = (keras_argument(base()), keras_argument(_augmentation()))
    expected_model = reference.build_frozen_base_model(base(), _augmentation())
    saved = student.saved_bytes(student.call("build_frozen_base_model", *arguments, then="keras_file_bytes"),
                                "build_frozen_base_model")
    what = "the model build_frozen_base_model returned"
    got = student.in_clean_worker("from_keras_file", saved, "keras_model_description", what=what)
    outputs = student.in_clean_worker("predictions_and_weights_from_keras_file", saved, images, what=what)
    return {"got": got, "expected": keras_model_description(expected_model), "expected_model": expected_model,
            "outputs": outputs, "images": images}


@FROZEN
def test_frozen_input_and_steps(frozen_case):
    got, expected = frozen_case["got"], frozen_case["expected"]
    builder = "build_frozen_base_model(conv_base, augmentation)"
    expect(_same_value(got["input_shape"], expected["input_shape"]),
           f"{builder}: the model's input shape is {got['input_shape']}; expected {expected['input_shape']}, the "
           "input shape of the conv_base it was given (conv_base.input_shape[1:]), here a 64x64 base.",
           f"{builder}: input shape {expected['input_shape']}, the base's")
    _check_steps(builder, _augmentation_first(got["leaves"]), _augmentation_first(expected["leaves"]),
                 "the augmentation layers, preprocess_input's operations, the base's layers, then Flatten -> "
                 "Dense(256, relu) -> Dropout(0.5) -> Dense(1, sigmoid)")


@FROZEN
def test_only_the_classifier_is_trainable(frozen_case):
    got, expected = frozen_case["got"], frozen_case["expected"]
    base_params = sum(leaf["params"] for leaf in got["leaves"] if leaf["type"] == "Conv2D")
    expect(got["trainable_params"] == expected["trainable_params"],
           f"build_frozen_base_model: {got['trainable_params']:,} trainable parameters; expected "
           f"{expected['trainable_params']:,}, the classifier's only. "
           + ("The base's weights are trainable too: set conv_base.trainable = False."
              if got["trainable_params"] >= base_params else ""),
           f"build_frozen_base_model: the base is frozen, {expected['trainable_params']:,} trainable parameters "
           "(the classifier's)")


@FROZEN
def test_frozen_compile_settings(frozen_case):
    _check_compile("build_frozen_base_model", frozen_case["got"])


@FROZEN
def test_frozen_predictions_are_the_classifier_on_the_preprocessed_base(frozen_case):
    outputs, model = frozen_case["outputs"], frozen_case["expected_model"]
    weights = outputs["weights"]
    shapes = [tuple(w.shape) for w in weights]
    expected_shapes = [tuple(w.shape) for w in model.get_weights()]
    expect(shapes == expected_shapes,
           "build_frozen_base_model: the model's weights do not have the shapes of the expected network (see the "
           "check of its steps), so its predictions cannot be compared.", "")
    model.set_weights(weights)
    expected = model.predict(frozen_case["images"], verbose=0)
    expect_array(f"build_frozen_base_model: predict() on {PROBES} grader images (values 0..255), against the "
                 "instructor's network with your model's weights (training=False: no augmentation, no dropout)",
                 outputs["predictions"], expected, rtol=1e-4, atol=1e-5)
