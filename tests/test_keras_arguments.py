"""Keras models as arguments of a student's function (assignment 06): the grader sends its own model
as .keras bytes (inspectors.keras_argument) and the sandbox worker hands the student's function a
loaded model; results still come back as plain data."""

from pathlib import Path

import numpy as np

from autograder.sandbox.inspectors import keras_argument
from autograder.sandbox.launcher import Limits, SandboxConfig
from autograder.sandbox.session import StudentSession

REPO = Path(__file__).resolve().parents[1]

CELLS = ['''
import numpy as np
def kind_and_output(model, x, scale=1.0):
    return type(model).__name__, np.asarray(model(np.asarray(x, dtype="float32")), dtype="float64") * scale
def just_plain(values):
    return values
''']


def _model():
    import keras
    inputs = keras.Input(shape=(3,))
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]], np.float32)])
    return model


def test_a_model_sent_as_a_keras_file_reaches_the_function_as_a_model():
    config = SandboxConfig(hidden_paths=[REPO / "solutions", REPO / "autograder", REPO / ".git"],
                           limits=Limits(wall_seconds_per_call=60, wall_seconds_startup=120))
    model = keras_argument(_model())
    x = np.array([[1.0, 2.0, 3.0]])
    with StudentSession([{"id": "c0", "source": CELLS[0]}], config) as session:
        outcome = session.call("kind_and_output", model, x, scale=model)  # a keyword argument too
        assert outcome.status == "error"  # scale became a model: multiplying by it fails in the student's code
        outcome = session.call("kind_and_output", model, x, scale=2.0)
        assert outcome.status == "ok", outcome.message
        kind, output = outcome.value
        assert kind == "Functional"
        np.testing.assert_allclose(output, [[8.0, 14.0]])
        # A dict that is not exactly a keras_argument is left alone.
        plain = {"__keras_file__": np.zeros(3, np.uint8), "other": 1}
        outcome = session.call("just_plain", plain)
        assert outcome.status == "ok" and outcome.value["other"] == 1
        # Bytes that are no .keras file fail the call with a message, and the worker goes on.
        outcome = session.call("kind_and_output", {"__keras_file__": np.zeros(10, np.uint8)}, x)
        assert outcome.status == "error"
        assert session.call("just_plain", [1, 2]).value == [1, 2]
