"""The long trainings of the solution notebooks are replayed under nbval (tools/fit_recordings.py).

The recordings must match the notebooks as they are now (otherwise make test trains for real again,
minutes slower, without failing), and a replay must leave the kernel as the training left it: the
same History, weights, optimizer state and checkpoint file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import fit_recordings  # noqa: E402

# the trainings that take minutes on the embedded profile, per source notebook folder
RECORDED = {"04_small_data_convnets": 2}


def test_every_recording_matches_its_notebook():
    assert fit_recordings.stale_recordings() == [], \
        "re-record the notebooks' trainings: make execute-solutions (then commit datasets/fit-recordings/)"


def test_the_long_trainings_are_recorded():
    counts = {folder.name: len(list(folder.glob("*/meta.json")))
              for folder in fit_recordings.RECORDINGS.iterdir() if folder.is_dir()}
    assert counts == RECORDED


CELLS = [
    "import numpy as np, keras\nkeras.utils.set_random_seed(1)",
    "x = np.random.default_rng(0).normal(size=(64, 4)).astype('float32')\ny = (x[:, 0] > 0).astype('float32')\n"
    "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation='relu'),\n"
    "                          keras.layers.Dense(1, activation='sigmoid')])\n"
    "model.compile(optimizer='rmsprop', loss='binary_crossentropy', metrics=['accuracy'])",
    "# NBVAL_IGNORE_OUTPUT\n"
    "history = model.fit(x, y, epochs=5, validation_data=(x, y), verbose=0,\n"
    "                    callbacks=[keras.callbacks.ModelCheckpoint('best.keras', save_best_only=True)])",
    "print([round(v, 6) for v in history.history['val_loss']], history.epoch, history.params['epochs'])",
    "print(np.round(model.get_weights()[0][0], 6).tolist(), int(model.optimizer.iterations.numpy()))\n"
    "print(np.round(model.optimizer.variables[-1].numpy().ravel()[:3], 6).tolist())\n"
    "print(np.round(keras.models.load_model('best.keras').get_weights()[1], 6).tolist())",
    "# another callback: never recorded\n"
    "again = model.fit(x, y, epochs=1, verbose=0, callbacks=[keras.callbacks.LambdaCallback()])",
]


def _environment(mode: str, recordings: Path) -> dict:
    return {**os.environ, "COURSE_DATA_PROFILE": "embedded", fit_recordings.MODE_VARIABLE: mode,
            "COURSE_FIT_RECORDINGS_DIR": str(recordings), "COURSE_FIT_RECORDINGS_MIN_SECONDS": "0",
            "TF_CPP_MIN_LOG_LEVEL": "3", "IPYTHONDIR": str(fit_recordings.ipython_dir())}


def _nbval(notebook: Path, recordings: Path) -> subprocess.CompletedProcess:
    """nbval as make test runs it: the stored outputs are the recording run's."""
    (notebook.parent / "best.keras").unlink(missing_ok=True)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval",
                           "--nbval-current-env", str(notebook)], env=_environment("replay", recordings),
                          cwd=notebook.parent, capture_output=True, text=True)


def test_nbval_replays_a_recorded_fit_as_the_training_left_it(tmp_path):
    folder = tmp_path / "solutions" / "tiny"
    folder.mkdir(parents=True)
    recordings = tmp_path / "recordings"
    notebook = folder / "tiny.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS]), notebook)
    subprocess.run([sys.executable, str(REPO / "tools" / "execute_notebooks.py"), str(notebook)], check=True,
                   env=_environment("record", recordings), capture_output=True)
    metas = list(recordings.glob("tiny/*/meta.json"))
    assert len(metas) == 1, metas  # the fit with a LambdaCallback is not recorded
    meta = json.loads(metas[0].read_text())
    assert meta["state"] == {"checkpoint": "0-best.keras"}  # the best epoch was the last: no second copy
    assert fit_recordings.stale_recordings(recordings, tmp_path / "solutions") == []

    # the History, weights, optimizer state and checkpoint are those of the training
    replayed = _nbval(notebook, recordings)
    assert replayed.returncode == 0, replayed.stdout[-3000:]

    # and they come from the recording: a forged one shows in the History's cell, and only there
    meta["history"]["history"]["val_loss"][0] += 1.0
    metas[0].write_text(json.dumps(meta))
    forged = _nbval(notebook, recordings)
    assert forged.returncode != 0 and "1 failed" in forged.stdout and "Cell 3" in forged.stdout, forged.stdout[-3000:]

    edited = nbformat.read(notebook, as_version=4)
    edited.cells[1].source += "  # an edit above the training"
    nbformat.write(edited, notebook)
    assert len(fit_recordings.stale_recordings(recordings, tmp_path / "solutions")) == 1
