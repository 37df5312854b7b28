"""Turn what student code returns (Keras models, datasets) into plain data, in the sandbox.

Hidden checks cannot receive a Keras model: objects never cross the boundary. Instead
the worker applies one of these inspectors to the student's return value (or runs one
on its own, for saved artifacts) and sends back numbers, strings and arrays. Nothing
here is secret; the comparisons with the reference happen in the grader's process.
"""

from __future__ import annotations

import importlib.abc
import sys

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


def _steps(model) -> list:
    """What a model runs, in order: for a functional model every operation of its graph, the layers
    and also the ``keras.ops`` calls applied to its tensors (``x * 2``, ``ops.matmul(x, table)``),
    which are saved in its file and run at prediction but are no layers, so ``model.layers`` leaves
    them out; for a Sequential model its layers."""
    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - another Keras layout
        Functional = type(None)
    if isinstance(model, Functional):
        return list(model.operations)
    return list(model.layers)


def _operation_leaf(operation) -> dict:
    """A ``keras.ops`` operation of a functional graph, described like a layer without weights."""
    try:
        output_shape = _shape(operation.output)
    except (AttributeError, ValueError, TypeError):
        output_shape = None
    return {"type": f"{type(operation).__name__} (a keras.ops operation)", "name": str(operation.name),
            "config": {}, "activation": None, "output_shape": output_shape, "params": 0}


def keras_model_summary(model) -> dict:
    """Layer types, output shapes, parameter counts, activations and compile settings."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(model).__name__}")
    layers = []
    for layer in _steps(model):
        if not isinstance(layer, keras.layers.Layer):  # a keras.ops operation of a functional graph
            layers.append(dict(_operation_leaf(layer), trainable=False, sublayers=[]))
            continue
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


class _NotNeededHere(importlib.abc.MetaPathFinder):
    """matplotlib and OpenCV: Keras imports them whenever they are installed (0.7 s of its start), and
    nothing a clean worker does needs them."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("matplotlib", "cv2"):
            raise ImportError(f"{name} is not imported in the clean worker")
        return None


def warm_up_keras() -> None:
    """Import Keras (seconds) while the grader has other work, so the first real inspection is quick.
    Only the clean worker is warmed up, so only there are Keras's optional imports left out."""
    if "keras" not in sys.modules:
        sys.meta_path.insert(0, _NotNeededHere())
    import keras  # noqa: F401
    return None


def receive_only(*args, **kwargs) -> None:
    """Does nothing: the cost of a call's arguments and answer, to subtract from a timing."""
    return None


INSPECTORS = {f.__name__: f for f in (keras_model_summary, predict_saved_model, predict_with, apply_layer, as_array,
                                      receive_only, warm_up_keras)}


# -- Assignment 04: folders built by a student's function, augmentation stages, handed-in models --

MAX_TREE_ENTRIES = 2000
LEAF_FIELDS = LAYER_FIELDS + ("interpolation",)


def write_file_tree(files: dict) -> str:
    """Create a fresh folder in the sandbox's scratch space holding ``files`` (relative POSIX
    path -> uint8 array of the file's bytes) and return its absolute path.

    The grader builds a small fake image folder with it, calls the student's function on it,
    then reads the result back with ``list_file_tree``.
    """
    import os
    import tempfile

    root = os.path.realpath(tempfile.mkdtemp(prefix="grader-tree-"))
    for relative, content in files.items():
        parts = str(relative).split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"not a plain relative path: {relative!r}")
        path = os.path.join(root, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(np.asarray(content, dtype=np.uint8).tobytes())
    return root


def list_file_tree(root: str) -> dict:
    """Everything under ``root``, as relative POSIX path -> ``"dir"``, ``"link -> <target>"`` or
    ``"file <size> <sha256>"``. Symbolic links are reported, never followed."""
    import hashlib
    import os

    entries = {}
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders.sort()
        for name in sorted(subfolders + names):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            if os.path.islink(path):
                entries[relative] = f"link -> {os.readlink(path)}"
            elif os.path.isdir(path):
                entries[relative] = "dir"
            else:
                digest = hashlib.sha256()
                with open(path, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 16), b""):
                        digest.update(chunk)
                entries[relative] = f"file {os.path.getsize(path)} {digest.hexdigest()}"
            if len(entries) > MAX_TREE_ENTRIES:
                raise ValueError(f"more than {MAX_TREE_ENTRIES} files and folders under {root}")
    return entries


def _is_plain_container(layer) -> bool:
    """A keras.Sequential or a functional model: its layers run one after the other."""
    import keras

    try:
        from keras.src.models.functional import Functional
    except ImportError:  # pragma: no cover - another Keras layout
        Functional = type(None)
    return type(layer) in (keras.Sequential, Functional, keras.Model)


def describe_layer_stack(layer) -> list:
    """The layers that ``layer`` runs, in order, with nested Sequential and functional models
    opened up and input layers left out: type, name, selected config, activation, output shape
    (when known) and parameter count for each. Works on unbuilt models (an augmentation stage
    made without an Input). A subclass with its own ``call`` is one opaque layer. The ``keras.ops``
    calls of a functional graph are listed too, in the graph's order (type ``"<Name> (a keras.ops
    operation)"``, no parameters): they compute like layers, and a stack that hid them could hold
    anything (a lookup table of images as a constant) behind the expected layers."""
    import keras

    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"expected a Keras layer or model, got {type(layer).__name__}")
    leaves = []

    def visit(item, depth):
        if depth > 8:
            raise ValueError("models nested more than 8 deep")
        if isinstance(item, keras.layers.InputLayer):
            return
        if _is_plain_container(item):
            for sub in _steps(item):
                visit(sub, depth + 1)
            return
        if not isinstance(item, keras.layers.Layer):  # a keras.ops operation: computation all the same
            leaves.append(_operation_leaf(item))
            if len(leaves) > 200:
                raise ValueError("more than 200 layers")
            return
        config = item.get_config()
        try:
            output_shape = _shape(item.output)
        except (AttributeError, ValueError, TypeError):
            output_shape = None
        try:
            params = int(item.count_params()) if item.built else 0
        except ValueError:
            params = 0
        leaves.append({
            "type": type(item).__name__,
            "name": item.name,
            "config": {k: _plain(config[k]) for k in LEAF_FIELDS if k in config},
            "activation": _activation_name(item),
            "output_shape": output_shape,
            "params": params,
        })
        if len(leaves) > 200:
            raise ValueError("more than 200 layers")

    visit(layer, 0)
    return leaves


def keras_model_description(model) -> dict:
    """``keras_model_summary`` plus ``leaves``: every layer the model runs, nested models opened
    (``describe_layer_stack``), and ``loss_function``, the name of a loss given as a function."""
    summary = keras_model_summary(model)
    summary["leaves"] = describe_layer_stack(model)
    loss = getattr(model, "loss", None)
    summary["loss_function"] = getattr(loss, "__name__", None) if callable(loss) else None
    return summary


_loaded_models: dict = {}


def _stamp(path: str) -> tuple:
    import os
    return (path, os.path.getsize(path), os.path.getmtime(path))


def _load_saved(path: str):
    import keras

    stamp = _stamp(path)
    if stamp not in _loaded_models:
        _loaded_models.clear()
        _loaded_models[stamp] = keras.saving.load_model(path, compile=False, safe_mode=True)
    return _loaded_models[stamp]


def predict_saved_model_batches(path: str, images, batch_size: int = 32) -> np.ndarray:
    """Like ``predict_saved_model`` (safe mode, inside the sandbox), keeping the loaded model
    between calls so that a large test set can be sent in several pieces."""
    model = _load_saved(path)
    images = np.asarray(images, dtype=np.float32)
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0), dtype=np.float32)


def saved_model_layers(path: str) -> list:
    """The layers a handed-in ``.keras`` file runs (``describe_layer_stack``), loaded in safe mode."""
    _load_saved(path)
    return describe_layer_stack(_loaded_models[_stamp(path)])


MAX_KERAS_FILE_BYTES = 256 << 20


def keras_file_bytes(model) -> np.ndarray:
    """In the student's worker: save what a student function returned (a Keras model or layer) as a
    ``.keras`` file and return its bytes. The grader describes it in another worker, one that never
    ran the student's code (``from_keras_file``), so nothing the student's code did to this process
    can change the description."""
    import os
    import tempfile

    import keras

    if not isinstance(model, keras.layers.Layer):
        raise TypeError(f"expected a Keras model or layer, got {type(model).__name__}")
    if not isinstance(model, keras.Model):
        model = keras.Sequential([model])
    folder = tempfile.mkdtemp(prefix="saved-")
    path = os.path.join(folder, "returned.keras")
    model.save(path)
    if os.path.getsize(path) > MAX_KERAS_FILE_BYTES:
        raise ValueError(f"the saved model is larger than {MAX_KERAS_FILE_BYTES >> 20} MB")
    with open(path, "rb") as handle:
        data = np.frombuffer(handle.read(), dtype=np.uint8)
    os.remove(path)
    return data


_from_files: dict = {}


def from_keras_file(data, inspector: str, *args):
    """In a clean worker: load the bytes of a ``.keras`` file (safe mode: no Python code) and apply
    ``inspector`` to the model, with ``args``. The loaded model is kept for the next inspector."""
    import hashlib
    import os
    import shutil
    import tempfile

    import keras

    data = np.asarray(data, dtype=np.uint8)
    digest = hashlib.sha256(data.tobytes()).hexdigest()
    if digest not in _from_files:
        _from_files.clear()
        folder = tempfile.mkdtemp(prefix="described-")
        path = os.path.join(folder, "model.keras")
        try:  # the file goes once loaded (or not): the scratch space is small, and shared by every description
            with open(path, "wb") as handle:
                handle.write(data.tobytes())
            _from_files[digest] = keras.saving.load_model(path, safe_mode=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    if inspector not in ("keras_model_summary", "keras_model_description", "describe_layer_stack", "apply_layer",
                         "predict_with", "predict_outputs"):
        raise ValueError(f"unknown inspector {inspector!r}")
    return INSPECTORS[inspector](_from_files[digest], *args)


INSPECTORS.update({f.__name__: f for f in (write_file_tree, list_file_tree, describe_layer_stack,
                                           keras_model_description, predict_saved_model_batches,
                                           keras_file_bytes, from_keras_file, saved_model_layers)})


# -- Assignment 06: Keras models as arguments of a student's function ------------------------------
#
# 06's graded functions take a model (a Grad-CAM classifier, a feature extractor). Objects never
# cross the boundary, so the grader saves its own model (hand-set weights) as a .keras file and
# sends the bytes as {"__keras_file__": <uint8 array>}; the worker loads it (safe mode) into a
# model before calling the student's function. The model is the grader's, so loading it in the
# student's process gives away nothing; what the function returns comes back as plain data.

KERAS_ARGUMENT = "__keras_file__"
_argument_models: dict = {}


def keras_argument(model) -> dict:
    """In the grader: a Keras model as an argument for ``student.call`` (see above)."""
    return {KERAS_ARGUMENT: keras_file_bytes(model)}


def _is_keras_argument(value) -> bool:
    return isinstance(value, dict) and set(value) == {KERAS_ARGUMENT} and isinstance(value[KERAS_ARGUMENT], np.ndarray)


def revive_keras_arguments(args: list, kwargs: dict) -> tuple[list, dict]:
    """In the worker: load every argument sent as ``keras_argument(model)`` into a Keras model (safe
    mode), once per file content; other arguments are left as they are."""
    args, kwargs = revive_assignment05_arguments(args, kwargs)  # fitted models, their layers, datasets
    if not any(_is_keras_argument(v) for v in list(args) + list(kwargs.values())):
        return args, kwargs
    import hashlib
    import os
    import shutil
    import tempfile

    import keras

    def revive(value):
        if not _is_keras_argument(value):
            return value
        data = np.asarray(value[KERAS_ARGUMENT], dtype=np.uint8)
        digest = hashlib.sha256(data.tobytes()).hexdigest()
        if digest not in _argument_models:
            folder = tempfile.mkdtemp(prefix="argument-")
            path = os.path.join(folder, "argument.keras")
            try:
                with open(path, "wb") as handle:
                    handle.write(data.tobytes())
                _argument_models[digest] = keras.saving.load_model(path, compile=False, safe_mode=True)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        return _argument_models[digest]

    return [revive(v) for v in args], {k: revive(v) for k, v in kwargs.items()}


def predict_outputs(model, images) -> list:
    """Every output of a model (a model with several outputs, such as 06's activation model) on
    ``images``, as a list of float32 arrays in the model's output order."""
    outputs = model(np.asarray(images, dtype=np.float32), training=False)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(output, dtype=np.float32) for output in outputs]


INSPECTORS.update({f.__name__: f for f in (predict_outputs,)})


# -- Assignment 05: a trained model and its base, and datasets, as arguments; one training step -----
#
# 05's functions take a pretrained base, a tf.data dataset, or a model already trained with its base
# frozen together with that base (prepare_fine_tuning(model, conv_base)). The grader sends:
#   fitted_keras_argument(model, images, labels): the model as .keras bytes; the worker loads it
#       (safe mode, compiled as saved) and trains it one step on the images, so that its training
#       function exists, as after the notebook's section 4: a change of `trainable` that is not
#       followed by compile() is then ignored by fit, as in a student's notebook. Never cached: the
#       student's function changes the model.
#   compiled_keras_argument(model): the same, without the training step (for a check whose answer
#       comes before any training, such as an error for a bad argument).
#   layer_of_argument(index, name): the layer `name` of the (revived) argument number `index`, the
#       very object inside that model.
#   dataset_argument(images, labels, batch_size, seed): a tf.data dataset of (images, labels)
#       batches that reshuffles at every pass, as image_dataset_from_directory's training set does.
# Everything these make is the grader's; what the student's function returns comes back as data.

FITTED_KERAS_ARGUMENT = "__fitted_keras_file__"
LAYER_OF_ARGUMENT = "__layer_of_argument__"
DATASET_ARGUMENT = "__dataset__"


def fitted_keras_argument(model, images, labels) -> dict:
    """In the grader: a compiled model, to be trained one step on (images, labels) in the worker."""
    return {FITTED_KERAS_ARGUMENT: keras_file_bytes(model), "images": np.asarray(images, dtype=np.float32),
            "labels": np.asarray(labels, dtype=np.float32)}


def compiled_keras_argument(model) -> dict:
    """In the grader: a compiled model, loaded as saved in the worker and never trained there."""
    return {FITTED_KERAS_ARGUMENT: keras_file_bytes(model)}


def layer_of_argument(index: int, name: str) -> dict:
    return {LAYER_OF_ARGUMENT: int(index), "name": str(name)}


def dataset_argument(images, labels, batch_size: int, seed: int) -> dict:
    return {DATASET_ARGUMENT: {"images": np.asarray(images, dtype=np.float32), "labels": np.asarray(labels),
                               "batch_size": int(batch_size), "seed": int(seed)}}


def _kind_of_05_argument(value):
    if not isinstance(value, dict):
        return None
    for kind in (FITTED_KERAS_ARGUMENT, LAYER_OF_ARGUMENT, DATASET_ARGUMENT):
        if kind in value:
            return kind
    return None


def _load_keras_bytes(data, compile: bool):
    import os
    import shutil
    import tempfile

    import keras

    folder = tempfile.mkdtemp(prefix="argument-")
    path = os.path.join(folder, "argument.keras")
    try:
        with open(path, "wb") as handle:
            handle.write(np.asarray(data, dtype=np.uint8).tobytes())
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def revive_assignment05_arguments(args: list, kwargs: dict) -> tuple[list, dict]:
    """In the worker: make the arguments described above, in order (a layer refers to an earlier one)."""
    if not any(_kind_of_05_argument(v) for v in list(args) + list(kwargs.values())):
        return args, kwargs
    revived = []

    def revive(value):
        kind = _kind_of_05_argument(value)
        if kind == FITTED_KERAS_ARGUMENT:
            model = _load_keras_bytes(value[FITTED_KERAS_ARGUMENT], compile=True)
            if "images" in value:
                model.train_on_batch(np.asarray(value["images"]), np.asarray(value["labels"]))
            return model
        if kind == LAYER_OF_ARGUMENT:
            return revived[value[LAYER_OF_ARGUMENT]].get_layer(value["name"])
        if kind == DATASET_ARGUMENT:
            import tensorflow as tf

            spec = value[DATASET_ARGUMENT]
            images = np.asarray(spec["images"], dtype=np.float32)
            dataset = tf.data.Dataset.from_tensor_slices((images, np.asarray(spec["labels"])))
            dataset = dataset.shuffle(len(images), seed=spec["seed"], reshuffle_each_iteration=True)
            return dataset.batch(spec["batch_size"])
        return value

    for value in args:
        revived.append(revive(value))
    return revived, {k: revive(v) for k, v in kwargs.items()}


def one_training_step(model, images, labels) -> dict:
    """In the student's worker, on the model a student's function returned: save it (``saved``), train it
    one step on (images, labels) with model.train_on_batch, and return its weights then (``after``). The
    clean worker repeats the step from the saved file (``training_step_from_keras_file``): a model whose
    training ignores what its file says (trainable flags changed without a new compile()) differs."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"expected the keras.Model, got {type(model).__name__}")
    saved = keras_file_bytes(model)
    model.train_on_batch(np.asarray(images, dtype=np.float32), np.asarray(labels, dtype=np.float32))
    return {"saved": saved, "after": [np.asarray(w, dtype=np.float32) for w in model.get_weights()]}


def training_step_from_keras_file(data, images, labels) -> dict:
    """In a clean worker: load a saved model (safe mode, compiled as saved), describe its trainable
    weights and optimizer, train it one step on (images, labels) and return its weights before and after."""
    import keras

    model = _load_keras_bytes(data, compile=True)
    optimizer = getattr(model, "optimizer", None)
    try:
        learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate)) if optimizer is not None else None
    except Exception:  # a schedule
        learning_rate = None
    description = {
        "weights": [v.path for v in model.weights],
        "trainable_weights": [v.path for v in model.trainable_weights],
        "optimizer": type(optimizer).__name__ if optimizer is not None else None,
        "learning_rate": learning_rate,
        "loss": model.loss if isinstance(getattr(model, "loss", None), str) else getattr(model.loss, "name", None),
        "before": [np.asarray(w, dtype=np.float32) for w in model.get_weights()],
    }
    model.train_on_batch(np.asarray(images, dtype=np.float32), np.asarray(labels, dtype=np.float32))
    description["after"] = [np.asarray(w, dtype=np.float32) for w in model.get_weights()]
    return description


def predictions_and_weights_from_keras_file(data, images) -> dict:
    """In a clean worker: a returned model's predictions on images (training=False) and its weights, so
    that the grader can run its own network with the same weights and compare."""
    model = _load_keras_bytes(data, compile=False)
    return {"predictions": np.asarray(model.predict(np.asarray(images, dtype=np.float32), verbose=0), dtype=np.float32),
            "weights": [np.asarray(w, dtype=np.float32) for w in model.get_weights()]}


INSPECTORS.update({f.__name__: f for f in (one_training_step, training_step_from_keras_file,
                                           predictions_and_weights_from_keras_file)})
