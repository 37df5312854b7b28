"""Measure assignment 04's lesson on the stand-in data, on more seeds than the notebook's.

    COURSE_DATA_PROFILE=embedded .venv/bin/python tools/measure_standin_lessons.py --seeds 1 2 [--jobs 2]
    COURSE_DATA_PROFILE=embedded .venv/bin/python tools/measure_standin_lessons.py --notebook

For each seed, the notebook's two trainings with the reference code: configure(seed), the datasets
of section 2, train_convnet_from_scratch for EPOCHS["from_scratch"] epochs, configure(seed) again,
train_convnet_with_augmentation for EPOCHS["with_augmentation"] epochs; then each checkpoint's loss
and accuracy on the test split. One training takes about 6 (from scratch) and 9 CPU-minutes
(with augmentation) on this course's 2-core machines; --jobs runs seeds side by side.
--notebook takes seed SEED's row from the notebook's own run instead of training again: the
fit recordings that tools/execute_notebooks.py made (their histories and checkpoints).

The rows are written into RECORD with the key of what they were measured with (the reference's
code, the stand-in version, Keras, the epochs); tests/test_standin_lessons.py checks the lessons
on every row and fails while the key is not the current one.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import multiprocessing
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

ASSIGNMENT = "04_small_data_convnets"
RECORD = REPO / "autograder" / "checks" / ASSIGNMENT / "standin_lessons.json"
SEED = 1337  # the notebook's
EPOCHS = {"from_scratch": 30, "with_augmentation": 50}  # the notebook's, on the embedded profile
TRAINERS = {"from_scratch": "train_convnet_from_scratch", "with_augmentation": "train_convnet_with_augmentation"}
REFERENCE_FUNCTIONS = ("build_convnet_from_scratch", "make_augmentation", "build_convnet_with_augmentation",
                       *TRAINERS.values())


def record_key() -> str:
    import keras

    from autograder.submissions import code_only, reference_cells
    from cnn_course.data import STANDIN_VERSION
    answers = reference_cells(ASSIGNMENT)
    parts = [code_only(answers[name]) for name in REFERENCE_FUNCTIONS]
    parts += [STANDIN_VERSION, keras.__version__, json.dumps(EPOCHS, sort_keys=True)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _datasets(seed: int):
    """Section 2's datasets: training and validation shuffled with ``seed``, test in order."""
    import keras

    from cnn_course.data import make_cats_vs_dogs_small
    with contextlib.redirect_stdout(io.StringIO()):
        base = make_cats_vs_dogs_small()
        read = {subset: keras.utils.image_dataset_from_directory(
            base / subset, image_size=(180, 180), batch_size=32,
            **({"shuffle": False} if subset == "test" else {"seed": seed}))
            for subset in ("train", "validation", "test")}
    return read["train"], read["validation"], read["test"]


def _row(val_loss: list[float], checkpoint: Path, test_dataset, epochs: int) -> dict:
    import keras
    best = min(range(len(val_loss)), key=val_loss.__getitem__)
    test_loss, test_accuracy = keras.saving.load_model(checkpoint).evaluate(test_dataset, verbose=0)[:2]
    return {"epochs": epochs, "best_epoch": best + 1, "lowest_val_loss": round(val_loss[best], 4),
            "highest_val_loss_after_best": round(max(val_loss[best:]), 4),
            "val_loss": [round(v, 4) for v in val_loss],
            "test_accuracy": round(float(test_accuracy), 4), "test_loss": round(float(test_loss), 4)}


def measure_seed(seed: int) -> dict:
    from autograder.grading import load_reference
    from cnn_course.runtime import configure

    configure(seed=seed, deterministic=True)
    reference = load_reference(ASSIGNMENT)
    train, validation, test = _datasets(seed)
    row = {"source": "tools/measure_standin_lessons.py"}
    with tempfile.TemporaryDirectory() as scratch:
        for kind, trainer in TRAINERS.items():
            configure(seed=seed, deterministic=True)
            checkpoint = Path(scratch) / f"{kind}.keras"
            history = getattr(reference, trainer)(train, validation, EPOCHS[kind], filepath=str(checkpoint))
            row[kind] = _row(history.history["val_loss"], checkpoint, test, EPOCHS[kind])
            print(f"seed {seed}, {kind}: best epoch {row[kind]['best_epoch']}, "
                  f"test accuracy {row[kind]['test_accuracy']}", flush=True)
    return row


def notebook_row() -> dict:
    """Seed SEED's row from the notebook's fit recordings (tools/execute_notebooks.py)."""
    import fit_recordings

    from cnn_course.runtime import configure
    configure(seed=SEED, deterministic=True)
    _, _, test = _datasets(SEED)
    row = {"source": "the notebook's run (datasets/fit-recordings)"}
    for meta_path in sorted((fit_recordings.RECORDINGS / ASSIGNMENT).glob("*/meta.json")):
        meta = json.loads(meta_path.read_text())
        for entry in meta["files"]:
            kind = next((k for k in TRAINERS if Path(entry["filepath"]).name == f"convnet_{k}.keras"), None)
            if kind is not None:
                val_loss = meta["history"]["history"]["val_loss"]
                row[kind] = _row(val_loss, meta_path.parent / "files" / entry["stored"], test, len(val_loss))
                row[kind]["recording"] = meta_path.parent.name
    missing = set(TRAINERS) - set(row)
    if missing:
        sys.exit(f"no fit recording of {sorted(missing)} in {fit_recordings.RECORDINGS / ASSIGNMENT}: "
                 f"run tools/execute_notebooks.py on 04's source notebook first")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--notebook", action="store_true", help=f"seed {SEED}'s row from the notebook's run")
    arguments = parser.parse_args()
    rows = {}
    if arguments.seeds:
        with multiprocessing.get_context("spawn").Pool(arguments.jobs) as pool:
            rows.update(zip(map(str, arguments.seeds), pool.map(measure_seed, arguments.seeds)))
    if arguments.notebook:
        rows[str(SEED)] = notebook_row()
    key = record_key()
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {}
    kept = record.get("seeds", {}) if record.get("key") == key else {}
    record = {"key": key, "epochs": EPOCHS, "seeds": {**kept, **rows}}
    RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RECORD.relative_to(REPO)}: seeds {sorted(record['seeds'], key=int)}")


if __name__ == "__main__":
    main()
