"""Hidden checks for the three model builders: build_mnist_convnet (Sequential),
build_mnist_convnet_functional and build_convnet_without_pooling.

The student's model is saved as a ``.keras`` file in the student's worker and described
(``keras_model_summary``: layer types, output shapes, parameter counts, activations, compile
settings) in another sandbox worker that never ran the student's code, so the student's code cannot
change the description; only that description comes back. The instructor's model is built and described here, in the grader's process, once per
process (``process_cache``). Layers are compared after two harmless normalisations: a Functional
model's InputLayer is left out (a Sequential model does not list it), and an activation written as
its own layer right after a layer without one (``Dense(10)`` then ``Activation("softmax")``, or
``layers.ReLU()``) counts as that layer's activation.
"""

import math
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras  # noqa: E402,F401  (the reference builders run in this process)

from autograder.harness import StudentFailure, expect, expect_exact, process_cache  # noqa: E402
from autograder.sandbox.inspectors import keras_model_summary  # noqa: E402

MODEL_CLASS = {  # what each builder must return; None: either API
    "build_mnist_convnet": "Sequential",
    "build_mnist_convnet_functional": "Functional",
    "build_convnet_without_pooling": None,
}
HOW_TO_BUILD = {
    "Sequential": "keras.Sequential([keras.Input(shape=(28, 28, 1)), ...layers...]) or model.add(...)",
    "Functional": "keras.Input, then each layer called on the previous tensor, then "
                  "keras.Model(inputs=inputs, outputs=outputs)",
}
BUILDERS = [pytest.param(name, marks=pytest.mark.target(name), id=name) for name in MODEL_CLASS]
ACTIVATION_LAYERS = {"Activation": None, "ReLU": "relu", "Softmax": "softmax"}  # None: read it from the layer
LOSS_NAMES = {"sparse_categorical_crossentropy"}
ACCURACY_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy"}

# builder -> summary of the instructor's model: deterministic, so kept across gradings in this process
_REFERENCE: dict = process_cache("03_mnist_convnet/reference_summaries")


def _reference_summary(reference, name):
    if name not in _REFERENCE:
        _REFERENCE[name] = keras_model_summary(getattr(reference, name)())
    return _REFERENCE[name]


@pytest.fixture(scope="module")
def described(student):
    """name -> the student's model described in the sandbox; one call per builder and submission."""
    cache = {}

    def describe(name):
        if name not in cache:
            try:
                cache[name] = student.describe(name, inspector="keras_model_summary")
            except StudentFailure as failure:
                cache[name] = failure
        if isinstance(cache[name], StudentFailure):
            raise cache[name]
        return cache[name]

    return describe


def _shape(shape_with_batch):
    """(26, 26, 32) from [None, 26, 26, 32]; 'unknown' when Keras could not say."""
    if not shape_with_batch or any(d is None for d in shape_with_batch[1:]):
        return "unknown"
    return tuple(shape_with_batch[1:])


def layer_rows(summary) -> list[dict]:
    """The model's layers as (type, output shape without the batch axis, params, activation)."""
    rows = []
    for layer in summary["layers"]:
        kind = layer["type"]
        if kind == "InputLayer":
            continue
        shape = _shape(layer["output_shape"])
        if kind in ACTIVATION_LAYERS and rows and rows[-1]["activation"] == "linear" and not layer["params"]:
            rows[-1] = dict(rows[-1], output_shape=shape,
                            activation=ACTIVATION_LAYERS[kind] or layer["activation"])
            continue
        activation = layer["activation"] if kind in ("Conv2D", "Dense") else None
        rows.append({"type": kind, "output_shape": shape, "params": layer["params"], "activation": activation})
    return rows


def _layers_text(rows) -> str:
    return ", ".join(row["type"] for row in rows)


@pytest.mark.parametrize("name", BUILDERS)
def test_kind_of_model(name, student, described):
    summary = described(name)
    wanted = MODEL_CLASS[name]
    if wanted is not None:
        expect(summary["class"] == wanted,
               f"{name}() returned a {summary['class']} model; this task asks for a {wanted} model, built with "
               f"{HOW_TO_BUILD[wanted]}.",
               f"{name}() returns a {wanted} model")
    else:
        expect(summary["class"] in ("Sequential", "Functional"),
               f"{name}() returned a {summary['class']} model; build it with keras.Sequential or with the "
               "Functional API (keras.Model(inputs=..., outputs=...)).",
               f"{name}() returns a {summary['class']} model")
    expect_exact(f"{name}(): input shape, without the batch axis", _shape(summary["input_shape"]), (28, 28, 1))


@pytest.mark.parametrize("name", BUILDERS)
def test_layer_types(name, student, reference, described):
    got = layer_rows(described(name))
    expected = layer_rows(_reference_summary(reference, name))
    expect([row["type"] for row in got] == [row["type"] for row in expected],
           f"{name}(): the layers are {_layers_text(got) or 'none'}; expected {_layers_text(expected)}, "
           "in this order (an input layer is not counted).",
           f"{name}(): layers {_layers_text(expected)}")


@pytest.mark.parametrize("name", BUILDERS)
def test_output_shapes(name, student, reference, described):
    got = [row["output_shape"] for row in layer_rows(described(name))]
    expected = [row["output_shape"] for row in layer_rows(_reference_summary(reference, name))]
    expect_exact(f"{name}(): output shape of each layer, without the batch axis", got, expected)


@pytest.mark.parametrize("name", BUILDERS)
def test_parameter_counts(name, student, reference, described):
    summary, expected_summary = described(name), _reference_summary(reference, name)
    expect_exact(f"{name}(): parameters of each layer",
                 [row["params"] for row in layer_rows(summary)],
                 [row["params"] for row in layer_rows(expected_summary)])
    expect_exact(f"{name}(): total parameters", summary["total_params"], expected_summary["total_params"])


@pytest.mark.parametrize("name", BUILDERS)
def test_activations(name, student, reference, described):
    got = [(row["type"], row["activation"]) for row in layer_rows(described(name)) if row["activation"]]
    expected = [(row["type"], row["activation"]) for row in layer_rows(_reference_summary(reference, name))
                if row["activation"]]
    expect(got == expected,
           f"{name}(): the activations of the Conv2D and Dense layers, in order, are "
           f"{', '.join(f'{kind} {act}' for kind, act in got) or 'missing'}; expected "
           f"{', '.join(f'{kind} {act}' for kind, act in expected)} ('linear' means no activation).",
           f"{name}(): activations {', '.join(act for _, act in expected)}")


@pytest.mark.parametrize("name", BUILDERS)
def test_compile_settings(name, student, reference, described):
    summary, expected = described(name), _reference_summary(reference, name)
    expect(summary["compiled"] and summary["optimizer"] is not None,
           f"{name}() returned a model that is not compiled; call model.compile(optimizer=..., loss=..., "
           "metrics=...) before returning it.", "")
    expect_exact(f"{name}(): optimizer", summary["optimizer"], expected["optimizer"])
    rate, expected_rate = summary["learning_rate"], expected["learning_rate"]
    expect(rate is not None and math.isclose(rate, expected_rate, rel_tol=1e-5),
           f"{name}(): the optimizer's learning rate is {'not a number' if rate is None else f'{rate:.6g}'}; "
           f"expected {expected_rate:g}, RMSprop's default.",
           f"{name}(): learning rate {expected_rate:g}")
    loss = summary["loss"]
    hint = (" A plain function cannot be identified; pass the name \"sparse_categorical_crossentropy\" or "
            "keras.losses.SparseCategoricalCrossentropy()." if loss == "function" else
            " The labels are integers 0..9, which is what sparse_categorical_crossentropy expects "
            "(categorical_crossentropy expects one-hot vectors).")
    expect(loss in LOSS_NAMES, f"{name}(): compiled with the loss {loss!r}; expected "
           f"'sparse_categorical_crossentropy'.{hint}", f"{name}(): loss sparse_categorical_crossentropy")
    metrics = summary["metrics"] or []
    expect(any(metric in ACCURACY_NAMES for metric in metrics),
           f"{name}(): compiled with the metrics {metrics}; ask for metrics=[\"accuracy\"].",
           f"{name}(): metric accuracy")
