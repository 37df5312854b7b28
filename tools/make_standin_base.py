"""Pretrain the embedded profile's stand-in for VGG16 (cnn_course/pretrained.py) and record how.

    COURSE_DATA_PROFILE=embedded PYTHONPATH=. .venv/bin/python tools/make_standin_base.py [--check]

The source task (not the target task of assignment 05):
    stand-in drawings from cnn_course.data.drawings, with a seed family of their own
    (SOURCE_SEED, not the course's stand-in seed, and not the grader's secret-derived seeds), in
    which each of the six facial traits (ears, head shape, muzzle, eyes, nose, whiskers) is a fair
    coin, drawn independently, instead of taking its cat form with the odds of drawings.TRAIT_ODDS in
    cats and its dog form with the same odds in dogs; heads and turns as SOURCE_POSE (version 2's
    stand-ins'). The label is the six traits (multi-label, sigmoid outputs); the drawings have no
    cat/dog label at all. Like ImageNet, whose 1,000 classes include many cat and dog breeds, the
    source task teaches the parts the target needs from many more images (RECIPE["train_images"]
    against 400) without ever showing the target's images or labels.

The network: input -> keras.applications.vgg16.preprocess_input -> the VGG16-shaped base
(pretrained.build_vgg_shaped_base, STANDIN_FILTERS) -> Flatten -> Dense(64, relu) -> Dense(6, sigmoid),
trained with Adam; only the base is kept, saved as datasets/standin/vgg16_standin_base.keras.
Beside it, vgg16_standin_base.json records the recipe, its SHA-256 (tests/test_pretrained.py checks it
is this file's RECIPE), the file's SHA-256 and size (also written into the manifest's standin_files),
the per-trait accuracy on RECIPE["validation_images"] source drawings, and the time it took.

--check retrains nothing: it measures the committed base's per-trait accuracy on the source
validation drawings (with a fresh head on frozen features, as the test does) and prints it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
from PIL import Image

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

from cnn_course import pretrained  # noqa: E402
from cnn_course.data import drawings  # noqa: E402

SOURCE_SEED = 50_2026  # the source task's drawings; the course's stand-ins use drawings._STANDIN_SEED
# The source task's pose: version 2's stand-ins', with which the committed base was trained.
SOURCE_POSE = drawings.Pose(head_radius=(0.3, 0.4), max_turn=25)
TRAITS = tuple(drawings.TRAIT_ODDS)  # ("pointed_ears", "wide_head", "no_muzzle", "slit_eyes", "pink_nose", "whiskers")
OUTPUT = REPOSITORY / "datasets" / "standin" / "vgg16_standin_base.keras"
RECORD = OUTPUT.with_suffix(".json")

RECIPE = {
    "format": 1,
    "source_task": "six facial traits (multi-label) of stand-in drawings, each trait a fair coin",
    "drawing_code_version": drawings.DRAWING_CODE_VERSION,
    "source_seed": SOURCE_SEED,
    "train_images": 4000,  # drawings 0 .. 3999 of the source seed
    "validation_images": 400,  # drawings 4000 .. 4399
    "image_size": [180, 180],
    "filters": list(pretrained.STANDIN_FILTERS),
    "head": "Flatten, Dense(64, relu), Dense(6, sigmoid)",
    "optimizer": "Adam",
    "learning_rate": 1e-3,
    "batch_size": 32,
    "epochs": 8,
    "seed": 2026,
}


def recipe_sha256(recipe: dict = RECIPE) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _fair_traits(recorded: dict):
    """Replaces drawings._traits while one source drawing is made: the same number of draws from the
    drawing's generator (so everything else is drawn as the drawing code always draws it), each
    trait a fair coin, and the traits recorded as the label."""
    def traits(rng, label):
        recorded.clear()
        recorded.update({name: bool(rng.random() < 0.5) for name in TRAITS})
        return dict(recorded)
    return traits


def source_drawing(number: int) -> tuple[np.ndarray, np.ndarray]:
    """Source drawing ``number``: a 180x180x3 uint8 image (JPEG-encoded and decoded, then resized
    bilinearly, as image_dataset_from_directory reads a stand-in) and its six traits (1 = cat form)."""
    recorded: dict = {}
    with mock.patch.object(drawings, "_traits", _fair_traits(recorded)):  # the module that calls it
        drawing = drawings.draw_standin(0, number, seed=SOURCE_SEED, pose=SOURCE_POSE)
    buffer = io.BytesIO()
    drawing.save(buffer, "JPEG", quality=85)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        image = decoded.convert("RGB").resize(tuple(RECIPE["image_size"][::-1]), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
    return pixels, np.array([recorded[name] for name in TRAITS], dtype=np.float32)


def source_images(start: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = [source_drawing(number) for number in range(start, start + count)]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def source_model(base):
    import keras
    from keras import layers

    inputs = keras.Input(shape=base.input_shape[1:])
    x = pretrained.preprocess_input(inputs)
    x = base(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(len(TRAITS), activation="sigmoid")(x)
    return keras.Model(inputs, outputs, name="source_task")


def _batches(images, traits, shuffle=False):
    """Batches as float32, cast one batch at a time (4,000 images as float32 would take 1.5 GB)."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, traits))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=RECIPE["seed"])
    return dataset.batch(RECIPE["batch_size"]).map(lambda x, y: (tf.cast(x, "float32"), y))


def trait_accuracy(predictions: np.ndarray, traits: np.ndarray) -> dict:
    correct = (predictions >= 0.5) == (traits >= 0.5)
    return {name: round(float(value), 4) for name, value in zip(TRAITS, correct.mean(axis=0))}


def train() -> None:
    from cnn_course.runtime import configure

    print(configure(seed=RECIPE["seed"], deterministic=True))
    import keras

    started = time.perf_counter()
    x_train, y_train = source_images(0, RECIPE["train_images"])
    x_val, y_val = source_images(RECIPE["train_images"], RECIPE["validation_images"])
    print(f"drew {len(x_train)} + {len(x_val)} source drawings in {time.perf_counter() - started:.0f} s; "
          f"trait frequencies {np.round(y_train.mean(axis=0), 3).tolist()}", flush=True)
    base = pretrained.build_vgg_shaped_base(tuple(RECIPE["image_size"]) + (3,), pretrained.STANDIN_FILTERS,
                                            seed=RECIPE["seed"])
    model = source_model(base)
    model.compile(optimizer=keras.optimizers.Adam(RECIPE["learning_rate"]), loss="binary_crossentropy",
                  metrics=["binary_accuracy"])
    trained = time.perf_counter()
    warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed")  # the dataset shuffles itself
    model.fit(_batches(x_train, y_train, shuffle=True), epochs=RECIPE["epochs"],
              validation_data=_batches(x_val, y_val), verbose=2)
    seconds = time.perf_counter() - trained
    accuracy = trait_accuracy(model.predict(_batches(x_val, y_val), verbose=0), y_val)
    print("per-trait validation accuracy:", accuracy)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    base.save(OUTPUT)
    content = OUTPUT.read_bytes()
    record = {
        "recipe": RECIPE,
        "recipe_sha256": recipe_sha256(),
        "script": "tools/make_standin_base.py",
        "file": OUTPUT.name,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "validation_trait_accuracy": accuracy,
        "training_seconds": round(seconds),
        "trained_with": {"keras": keras.__version__, "cpu_cores": os.cpu_count()},
    }
    RECORD.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    _update_manifest(record)
    print(f"saved {OUTPUT} ({len(content):,} bytes, sha256 {record['sha256']}) and {RECORD.name}")


def _update_manifest(record: dict) -> None:
    path = REPOSITORY / "datasets" / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    entries = [e for e in manifest.get("standin_files", []) if e["name"] != pretrained.STANDIN_NAME]
    entries.append({
        "name": pretrained.STANDIN_NAME,
        "description": "The embedded profile's stand-in for VGG16's convolutional base (include_top=False): "
                       "VGG16's five blocks and layer names with 8, 16, 32, 64, 64 filters, pretrained on stand-in "
                       "drawings (six facial traits, multi-label), not ImageNet. Loaded by "
                       "cnn_course.pretrained.load_conv_base() on the embedded profile.",
        "path": "datasets/standin/" + record["file"],
        "filename": record["file"],
        "size": record["size"],
        "sha256": record["sha256"],
        "provenance": {
            "script": record["script"],
            "recipe": "datasets/standin/" + RECORD.name,
            "recipe_sha256": record["recipe_sha256"],
            "seed": RECIPE["seed"],
            "source_task": RECIPE["source_task"] + f" (drawing seed {SOURCE_SEED}, "
                                                   f"{RECIPE['train_images']} training drawings)",
        },
        "licence": "The course repository's own: made by the course from its own drawing code.",
    })
    manifest["standin_files"] = entries
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check() -> None:
    import keras

    base = pretrained.load_conv_base(tuple(RECIPE["image_size"]) + (3,))
    x_val, y_val = source_images(RECIPE["train_images"], RECIPE["validation_images"])
    print(json.dumps(frozen_feature_accuracy(base, x_val, y_val), indent=1))
    del keras


def frozen_feature_accuracy(base, images, traits, *, fit_fraction=0.5, epochs=60, seed=0) -> dict:
    """Per-trait accuracy of a logistic regression per trait on the frozen base's features: fitted on
    the first ``fit_fraction`` of the images, measured on the rest. A base whose features carry the
    traits scores far above chance; a random base close to it."""
    import keras
    from keras import layers

    features = base.predict(pretrained.preprocess_input(images.astype("float32")), verbose=0)
    features = features.reshape(len(features), -1)
    scale = features.std(axis=0).mean() + 1e-6
    features = features / scale
    cut = int(len(features) * fit_fraction)
    keras.utils.set_random_seed(seed)
    probe = keras.Sequential([keras.Input(shape=features.shape[1:]), layers.Dense(traits.shape[1], activation="sigmoid")])
    probe.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    probe.fit(features[:cut], traits[:cut], epochs=epochs, batch_size=32, verbose=0)
    return trait_accuracy(probe.predict(features[cut:], verbose=0), traits[cut:])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="measure the committed base; train nothing")
    arguments = parser.parse_args()
    check() if arguments.check else train()
