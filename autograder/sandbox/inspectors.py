"""Turn what student code returns (Keras models, datasets) into plain data, in the sandbox.

Hidden checks cannot receive a Keras model: objects never cross the boundary. Instead
the worker applies one of these inspectors to the student's return value (or runs one
on its own, for saved artifacts) and sends back numbers, strings and arrays. Nothing
here is secret; the comparisons with the reference happen in the grader's process.
"""

from __future__ import annotations

import numpy as np

LAYER_FIELDS = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "rate", "scale",
                "offset", "mode", "factor", "height_factor", "width_factor", "fill_mode", "dilation_rate",
                "use_bias", "data_format")


def _plain(value):
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _activation_name(layer):
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    return getattr(activation, "__name__", str(activation))


def _shape(tensor_or_shape):
    shape = getattr(tensor_or_shape, "shape", tensor_or_shape)
    return [None if d is None else int(d) for d in shape]


def keras_model_summary(model) -> dict:
    """Layer types, output shapes, parameter counts, activations and compile settings."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(model).__name__}")
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        try:
            output_shape = _shape(layer.output)
        except (AttributeError, ValueError):
            output_shape = None
        layers.append({
            "type": type(layer).__name__,
            "name": layer.name,
            "output_shape": output_shape,
            "params": int(layer.count_params()) if layer.built else 0,
            "trainable": bool(layer.trainable),
            "activation": _activation_name(layer),
            "config": {k: _plain(config[k]) for k in LAYER_FIELDS if k in config},
            "sublayers": [type(s).__name__ for s in getattr(layer, "layers", [])],
        })
    summary = {
        "class": type(model).__name__,
        "input_shape": _shape(model.inputs[0]) if getattr(model, "inputs", None) else None,
        "output_shape": _shape(model.outputs[0]) if getattr(model, "outputs", None) else None,
        "layers": layers,
        "total_params": int(model.count_params()),
        "trainable_params": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "compiled": bool(getattr(model, "compiled", False) or getattr(model, "optimizer", None) is not None),
        "optimizer": None, "learning_rate": None, "loss": None, "metrics": [],
    }
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        summary["optimizer"] = type(optimizer).__name__
        try:
            summary["learning_rate"] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        except Exception:  # a schedule rather than a number
            summary["learning_rate"] = None
    loss = getattr(model, "loss", None)
    if loss is not None:
        summary["loss"] = loss if isinstance(loss, str) else getattr(loss, "name", type(loss).__name__)
    compile_config = getattr(model, "_compile_config", None)
    if compile_config is not None:
        metrics = compile_config.config.get("metrics") or []
        summary["metrics"] = [m if isinstance(m, str) else getattr(m, "name", type(m).__name__)
                              for m in (metrics if isinstance(metrics, (list, tuple)) else [metrics])]
    return summary


def predict_saved_model(path: str, images, batch_size: int = 64) -> np.ndarray:
    """Load a saved ``.keras`` model (safe mode, here in the sandbox) and predict."""
    import keras

    model = keras.saving.load_model(path, compile=False, safe_mode=True)
    return np.asarray(model.predict(np.asarray(images), batch_size=batch_size, verbose=0), dtype=np.float32)


def predict_with(model, images, batch_size: int = 64) -> np.ndarray:
    """Predictions of a model the student's code returned."""
    return np.asarray(model.predict(np.asarray(images), batch_size=batch_size, verbose=0), dtype=np.float32)


def apply_layer(layer, images, training: bool = True, seed: int | None = None) -> np.ndarray:
    """Run a layer or pipeline (e.g. an augmentation stage) on images and return the result."""
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    return np.asarray(layer(np.asarray(images), training=training), dtype=np.float32)


def as_array(value) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


INSPECTORS = {f.__name__: f for f in (keras_model_summary, predict_saved_model, predict_with, apply_layer, as_array)}
