"""Grading Keras work: models are described and run inside the sandbox; only plain data
(descriptions, predictions) comes back. A handed-in model file is never loaded here."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from autograder.harness import StudentFailure, StudentProxy  # noqa: E402
from autograder.sandbox.launcher import Limits, SandboxConfig  # noqa: E402
from autograder.sandbox.session import StudentSession  # noqa: E402

BUILD = '''
import keras
from keras import layers

def build_model():
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

def not_a_model():
    return 42
'''


def _session(artifacts=()):
    config = SandboxConfig(limits=Limits(wall_seconds_per_call=120, wall_seconds_startup=120),
                           artifacts=list(artifacts))
    return StudentSession([{"id": "build", "source": BUILD}], config)


def test_model_described_in_the_sandbox():
    with _session() as session:
        student = StudentProxy(session)
        summary = student.call("build_model", then="keras_model_summary")
        with pytest.raises(StudentFailure, match="could not use"):
            student.call("not_a_model", then="keras_model_summary")
    assert [layer["type"] for layer in summary["layers"]] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert summary["layers"][0]["output_shape"] == [None, 26, 26, 8]
    assert summary["layers"][0]["activation"] == "relu" and summary["layers"][-1]["activation"] == "softmax"
    assert summary["total_params"] == 8 * 9 + 8 + 13 * 13 * 8 * 10 + 10
    assert summary["optimizer"] == "RMSprop" and summary["learning_rate"] == pytest.approx(1e-3)
    assert summary["loss"] == "sparse_categorical_crossentropy"


def test_handed_in_model_predicts_in_the_sandbox(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    path = tmp_path / "model.keras"
    model.save(path)
    images = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    with _session([path]) as session:
        student = StudentProxy(session)
        predictions = student.inspect("predict_saved_model", student.artifact("model.keras"), images)
        with pytest.raises(StudentFailure, match="other.keras is missing from your submission. Train it"):
            student.artifact("other.keras", "Train it first.")
    np.testing.assert_allclose(predictions, model.predict(images, verbose=0), rtol=1e-5, atol=1e-6)


def test_a_model_file_with_code_is_refused_inside_the_sandbox(tmp_path):
    """A Lambda layer carries Python code; safe mode refuses it, and only the sandbox ever opens it."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    path = tmp_path / "evil.keras"
    model.save(path)
    with _session([path]) as session:
        student = StudentProxy(session)
        with pytest.raises(StudentFailure) as failure:
            student.inspect("predict_saved_model", student.artifact("evil.keras"), np.ones((1, 2), "float32"))
    assert "safe_mode" in failure.value.message or "Lambda" in failure.value.message
