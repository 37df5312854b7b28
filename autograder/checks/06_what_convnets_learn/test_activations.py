"""Hidden checks for activation_model.

The student's function gets a small Sequential network with hand-set weights (a Sequential model has
no .input in Keras 3: model.inputs is the way), built here and sent as a .keras file; the model it
returns is saved in the student's worker and run in a clean worker that ran none of the student's
code (``predict_outputs``), on grader-drawn images. Its outputs are compared here, in order, with the
reference's activations on the same images.
"""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, hidden_rng, process_cache
from autograder.sandbox.inspectors import keras_argument

TARGET = pytest.mark.target("activation_model")
RTOL, ATOL = 1e-4, 1e-5
_MODELS = process_cache("06_what_convnets_learn/activation_fixture")


def activation_fixture():
    """Sequential: Input (16, 16, 3) -> Conv2D(4, 3, ReLU) "conv_a" -> MaxPooling2D "pool_a" ->
    Conv2D(6, 3, ReLU) "conv_b" -> Flatten "flatten" -> Dense(1, sigmoid) "score"; hand-set weights
    (cosines of the weight's index: alternating signs, no two units alike, small positive biases)."""
    import keras
    model = keras.Sequential([keras.Input(shape=(16, 16, 3)),
                              keras.layers.Conv2D(4, 3, activation="relu", name="conv_a"),
                              keras.layers.MaxPooling2D(name="pool_a"),
                              keras.layers.Conv2D(6, 3, activation="relu", name="conv_b"),
                              keras.layers.Flatten(name="flatten"),
                              keras.layers.Dense(1, activation="sigmoid", name="score")], name="activation_fixture")
    weights = []
    for i, weight in enumerate(model.get_weights()):
        grid = np.indices(weight.shape).sum(axis=0)
        if weight.ndim == 1:
            values = 0.05 + 0.02 * np.cos(grid + i)
        else:
            values = np.cos(0.7 * grid + i) / np.sqrt(np.prod(weight.shape[:-1]))
        weights.append(values.astype(np.float32))
    model.set_weights(weights)
    return model


def _model():
    if "sequential" not in _MODELS:
        model = activation_fixture()
        _MODELS["sequential"] = (model, keras_argument(model))
    return _MODELS["sequential"]


@TARGET
@pytest.mark.parametrize("layer_names", [["conv_b", "conv_a"], ["conv_a", "pool_a", "conv_b"]])
def test_activations_of_the_layers_asked_for(student, reference, layer_names):
    model, argument = _model()
    images = hidden_rng(f"activation images {len(layer_names)}").uniform(0, 1, (3, 16, 16, 3)).astype(np.float32)
    expected = reference.activation_model(model, layer_names)(images)
    got = student.describe("activation_model", argument, layer_names, inspector="predict_outputs",
                           inspector_args=(images,))
    label = f"activation_model(a Sequential network, {layer_names}) on 3 images of 16x16x3"
    expect(isinstance(got, list) and len(got) == len(layer_names),
           f"{label}: the model should have {len(layer_names)} outputs, one per name in layer_names; it has "
           f"{len(got) if isinstance(got, list) else 'a single'} output(s).",
           f"{label}: {len(layer_names)} outputs")
    for name, mine, theirs in zip(layer_names, got, expected):
        theirs = np.asarray(theirs)
        expect(tuple(np.shape(mine)) == theirs.shape,
               f"{label}: the output for {name!r} has shape {tuple(np.shape(mine))}; expected {theirs.shape}, the "
               "output of that layer (outputs in the order of layer_names).", f"output {name!r} has shape {theirs.shape}")
        expect_array(f"{label}: activation of {name!r}", mine, theirs, rtol=RTOL, atol=ATOL)
