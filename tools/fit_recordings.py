"""Record the long Keras trainings of the solution notebooks once; replay them under nbval.

`make test` runs every solution notebook under nbval. Assignment 04 trains two networks for 20
epochs each, about 6 minutes of CPU on the embedded profile, every run. So `make execute-solutions`
(which refreshes the stored outputs) records each ``fit`` that takes at least MIN_SECONDS, and
`make test` replays it: the model gets the recorded final weights and optimizer state, the
ModelCheckpoint files are written as the real run wrote them, and ``fit`` returns the recorded
History. Every other cell still runs.

A recording is used only for the very same training. Its key is a hash of the code of every cell
run so far in the kernel (the training cell included), of the training data (the image files of an
``image_dataset_from_directory`` dataset, or the arrays), of the callbacks, of the Keras and
TensorFlow versions and of the stand-in data's version; edit any cell above a training and it
trains for real again. tests/test_fit_recordings.py fails while a recording is stale, so that the
speed-up is not lost silently. Only the embedded profile is ever recorded or replayed; a fit with
callbacks other than History, ModelCheckpoint, EarlyStopping and the progress bar always trains.

The kernel gets this module from an IPython startup file (``ipython_dir``), installed only when
COURSE_FIT_RECORDINGS is ``record`` or ``replay`` (the Makefile sets it): students' kernels never see it.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import inspect
import json
import os
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODE_VARIABLE = "COURSE_FIT_RECORDINGS"
MODES = ("record", "replay")
# where the recordings are kept and which fits are long enough to record (tests change both)
RECORDINGS = Path(os.environ.get("COURSE_FIT_RECORDINGS_DIR", REPO / "datasets" / "fit-recordings"))
MIN_SECONDS = float(os.environ.get("COURSE_FIT_RECORDINGS_MIN_SECONDS", 30.0))
REPLAYABLE_CALLBACKS = {"History", "ModelCheckpoint", "EarlyStopping", "ProgbarLogger"}

_fits_so_far = 0


# -- the key ------------------------------------------------------------------------------------

def versions() -> dict:
    import keras
    import tensorflow as tf

    from cnn_course.data import STANDIN_VERSION
    return {"keras": keras.__version__, "tensorflow": tf.__version__, "standins": STANDIN_VERSION}


def recording_key(cells: list[str], fit_index: int, data: list, callbacks: list, versions: dict) -> str:
    """The key of a training: the code run so far, which fit of the kernel it is, its data and callbacks."""
    payload = json.dumps({"cells": cells, "fit": fit_index, "data": data, "callbacks": callbacks,
                          "versions": versions}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _data_digest(value):
    """A digest of training data, or None when it cannot be taken without reading a dataset."""
    import numpy as np
    if value is None:
        return "none"
    if isinstance(value, np.ndarray):
        return hashlib.sha256(np.ascontiguousarray(value).tobytes() + str((value.dtype, value.shape)).encode()).hexdigest()
    if isinstance(value, (tuple, list)):
        parts = [_data_digest(v) for v in value]
        return None if None in parts else hashlib.sha256("".join(parts).encode()).hexdigest()
    paths = getattr(value, "file_paths", None)  # image_dataset_from_directory's datasets carry their files
    if paths:
        digest = hashlib.sha256()
        for path in paths:
            digest.update(Path(path).name.encode() + Path(path).parent.name.encode())
            digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
        return digest.hexdigest()
    return None


def _callback_descriptions(callbacks) -> list | None:
    described = []
    for callback in callbacks or []:
        name = type(callback).__name__
        if name not in REPLAYABLE_CALLBACKS:
            return None
        settings = {key: getattr(callback, key, None) for key in ("filepath", "monitor", "save_best_only", "patience",
                                                                   "save_weights_only", "min_delta", "mode")}
        if "{" in str(settings["filepath"] or ""):
            return None  # one file per epoch: not replayed
        described.append({"type": name, **{k: (v if isinstance(v, (int, float, str, bool)) or v is None else str(v))
                                           for k, v in settings.items()}})
    return described


_cells_run: list[str] | None = None  # every cell the kernel ran, from its pre_run_cell event


def _remember_cell(info) -> None:
    _cells_run.append(info.raw_cell)


def _cells_so_far() -> list[str] | None:
    # not the input history: nbval executes with store_history=False
    return None if _cells_run is None else list(_cells_run)


# -- recording and replaying ----------------------------------------------------------------------

def _checkpoints(callbacks) -> list[str]:
    return [str(c.filepath) for c in callbacks or [] if type(c).__name__ == "ModelCheckpoint"]


def _state(model) -> tuple[list, list]:
    import numpy as np
    optimizer = getattr(model, "optimizer", None)
    variables = list(optimizer.variables) if optimizer is not None and getattr(optimizer, "built", False) else []
    return [np.asarray(w) for w in model.get_weights()], [np.asarray(v) for v in variables]


def _same_state(a, b) -> bool:
    import numpy as np
    return all(len(x) == len(y) and all(u.shape == v.shape and np.array_equal(u, v) for u, v in zip(x, y))
               for x, y in zip(a, b))


def _record(folder: Path, model, history, checkpoints: list[str], meta: dict) -> None:
    import keras
    import numpy as np
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "files").mkdir(parents=True)
    files = []
    for index, path in enumerate(checkpoints):
        if Path(path).is_file():
            stored = f"{index}-{Path(path).name}"
            shutil.copy(path, staging / "files" / stored)
            files.append({"filepath": path, "stored": stored})
    final = _state(model)
    meta["state"] = None
    for entry in files:  # the best epoch was the last one: the final state is the checkpoint's
        saved = keras.models.load_model(staging / "files" / entry["stored"])
        if _same_state(final, _state(saved)):
            meta["state"] = {"checkpoint": entry["stored"]}
            break
    if meta["state"] is None:
        np.savez(staging / "state.npz", *final[0], *final[1])
        meta["state"] = {"weights": len(final[0]), "optimizer": len(final[1])}
    meta["files"] = files
    meta["history"] = {"history": {k: [float(v) for v in values] for k, values in history.history.items()},
                       "epoch": list(history.epoch), "params": history.params}
    (staging / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)


def _replay(folder: Path, model):
    import keras
    import numpy as np
    meta = json.loads((folder / "meta.json").read_text())
    for entry in meta["files"]:
        shutil.copy(folder / "files" / entry["stored"], entry["filepath"])
    if "checkpoint" in meta["state"]:
        weights, optimizer = _state(keras.models.load_model(folder / "files" / meta["state"]["checkpoint"]))
    else:
        arrays = np.load(folder / "state.npz")
        values = [arrays[f"arr_{i}"] for i in range(len(arrays.files))]
        weights, optimizer = values[:meta["state"]["weights"]], values[meta["state"]["weights"]:]
    model.set_weights(weights)
    if optimizer:
        if not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        variables = list(model.optimizer.variables)
        if len(variables) != len(optimizer):
            raise RuntimeError(f"the fit recording {folder} holds {len(optimizer)} optimizer variables; this model's "
                               f"optimizer has {len(variables)}. Re-record it: make execute-solutions.")
        for variable, value in zip(variables, optimizer):
            variable.assign(value)
    history = keras.callbacks.History()
    history.set_model(model)
    history.history = {k: list(v) for k, v in meta["history"]["history"].items()}
    history.epoch = list(meta["history"]["epoch"])
    history.params = meta["history"]["params"]
    print(f"[fit replayed from {folder.parent.name}/{folder.name}: {len(history.epoch)} epochs, which took "
          f"{meta['seconds']:.0f} s when recorded by make execute-solutions]")
    return history


def _fit(real_fit, model, args, kwargs):
    global _fits_so_far
    from cnn_course.data import data_profile
    mode = os.environ.get(MODE_VARIABLE)
    fit_index = _fits_so_far
    _fits_so_far += 1
    arguments = inspect.signature(real_fit).bind(model, *args, **kwargs).arguments
    cells = _cells_so_far()
    callbacks = _callback_descriptions(arguments.get("callbacks"))
    data = [_data_digest(arguments.get(name)) for name in ("x", "y", "validation_data")]
    if mode not in MODES or data_profile() != "embedded" or cells is None or callbacks is None or None in data:
        return real_fit(model, *args, **kwargs)
    key = recording_key(cells, fit_index, data, callbacks, versions())
    folder = RECORDINGS / Path.cwd().name / key
    if mode == "replay" and (folder / "meta.json").is_file():
        return _replay(folder, model)
    started = time.perf_counter()
    history = real_fit(model, *args, **kwargs)
    seconds = time.perf_counter() - started
    if mode == "record" and seconds >= MIN_SECONDS:
        _record(folder, model, history, _checkpoints(arguments.get("callbacks")),
                {"key": key, "cell": len(cells), "fit_index": fit_index, "seconds": round(seconds, 1),
                 "versions": versions(), "data": data, "callbacks": callbacks})
    return history


def _patch(keras) -> None:
    real_fit = keras.Model.fit

    def fit(self, *args, **kwargs):
        return _fit(real_fit, self, args, kwargs)

    fit.__wrapped__ = real_fit
    fit.__doc__ = real_fit.__doc__
    keras.Model.fit = fit


class _PatchKerasWhenImported(importlib.abc.MetaPathFinder):
    """Patch keras.Model.fit once keras is imported (a notebook without Keras never imports it).
    Stays in place until keras is executed: TensorFlow asks find_spec("keras") before importing it."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            execute(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


def install_from_environment() -> None:
    global _cells_run
    if os.environ.get(MODE_VARIABLE) not in MODES:
        return
    from IPython import get_ipython
    shell = get_ipython()
    if shell is None:
        return
    _cells_run = []
    shell.events.register("pre_run_cell", _remember_cell)
    if "keras" in sys.modules:
        _patch(sys.modules["keras"])
    else:
        sys.meta_path.insert(0, _PatchKerasWhenImported())


def ipython_dir() -> Path:
    """An IPYTHONDIR (under build/) whose startup file installs the recorder in every kernel; the kernel's
    COURSE_FIT_RECORDINGS says whether it records or replays."""
    folder = REPO / "build" / "ipython"
    startup = folder / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    (startup / "00-fit-recordings.py").write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).resolve().parent)!r})\n"
        "import fit_recordings\nfit_recordings.install_from_environment()\n")
    return folder


def forget(notebook_folder: str) -> None:
    """Drop the recordings of one source notebook's folder (before it is recorded again)."""
    shutil.rmtree(RECORDINGS / notebook_folder, ignore_errors=True)


# -- staleness --------------------------------------------------------------------------------------

def code_cells(notebook_path: Path) -> list[str]:
    import nbformat
    notebook = nbformat.read(notebook_path, as_version=4)
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def stale_recordings(recordings: Path = RECORDINGS, solutions: Path = REPO / "solutions") -> list[str]:
    """Why each recording no longer matches its notebook (empty when all are current)."""
    problems = []
    current = versions()
    for meta_path in sorted(recordings.glob("*/*/meta.json")):
        meta = json.loads(meta_path.read_text())
        folder = meta_path.parent
        notebooks = sorted((solutions / folder.parent.name).glob("*.ipynb"))
        if len(notebooks) != 1:
            problems.append(f"{folder}: no single source notebook in solutions/{folder.parent.name}/")
            continue
        cells = code_cells(notebooks[0])[: meta["cell"]]
        key = recording_key(cells, meta["fit_index"], meta["data"], meta["callbacks"], current)
        if key != folder.name:  # the key covers the versions
            problems.append(f"{folder}: recorded for other code or versions than {notebooks[0]} now has")
    return problems


if __name__ == "__main__":
    if sys.argv[1:] == ["ipython-dir"]:
        print(ipython_dir())
    else:
        sys.exit("usage: python tools/fit_recordings.py ipython-dir")
