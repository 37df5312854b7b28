"""Assignment 04: plausible wrong answers (mutants) and differently written right ones.

Code mutants (MUTANTS) replace one solution cell; tests/test_mutants.py proves that each loses
exactly its own function's points. The two trained models are graded only from the files handed
in with the notebook, so their mistakes are files (FILE_MUTANTS), made by ``model_file`` and
cached under COURSE_DATA_DIR; tests/test_trained_dogs_vs_cats.py grades them. ``handed_in`` puts
the correct files next to a submission, so that the code mutants keep the trained models' points.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import shutil
import tempfile
from pathlib import Path

from autograder.submissions import cached_model_file, code_only, mutant_factory

ASSIGNMENT = "04_small_data_convnets"
FROM_SCRATCH_FILE = "convnet_from_scratch.keras"
WITH_AUGMENTATION_FILE = "convnet_with_augmentation.keras"
HANDED_IN_TARGETS = {"train_convnet_from_scratch", "train_convnet_with_augmentation"}  # see FILE_MUTANTS

GRADE_TOGETHER = True  # Keras in the sandbox: about 5 s a grading (tests/test_mutants.py)

BASE = {}

BASE["make_subset"] = '''
def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    source_dir = pathlib.Path(source_dir)
    target_dir = pathlib.Path(target_dir)
    copied = {}
    for source_class, target_class in (("Cat", "cats"), ("Dog", "dogs")):
        folder = target_dir / subset_name / target_class
        folder.mkdir(parents=True, exist_ok=True)
        copied[target_class] = 0
        for number in range(start_index, end_index):
            source = source_dir / source_class / f"{number}.jpg"
            if source.is_file():
                shutil.copyfile(source, folder / f"{target_class[:-1]}.{number}.jpg")
                copied[target_class] += 1
    return copied
'''

BASE["build_convnet_from_scratch"] = '''
def build_convnet_from_scratch():
    inputs = keras.Input(shape=(180, 180, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=128, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=256, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=256, kernel_size=3, activation="relu")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model
'''

BASE["smooth_curve"] = '''
def smooth_curve(points, factor=0.8):
    smoothed_points = []
    for point in points:
        if smoothed_points:
            previous = smoothed_points[-1]
            smoothed_points.append(previous * factor + point * (1 - factor))
        else:
            smoothed_points.append(point)
    return smoothed_points
'''

BASE["make_augmentation"] = '''
def make_augmentation():
    return keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.2),
    ])
'''

BASE["build_convnet_with_augmentation"] = '''
def build_convnet_with_augmentation():
    data_augmentation = keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.1),
        layers.RandomZoom(0.2),
    ])
    inputs = keras.Input(shape=(180, 180, 3))
    x = data_augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=128, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=256, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=256, kernel_size=3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model
'''

Mutant = mutant_factory(BASE)

MUTANTS = [
    # make_subset
    Mutant("make_subset", "copies end_index too (off by one)", "range(start_index, end_index)",
           "range(start_index, end_index + 1)"),
    Mutant("make_subset", "swaps the classes", '(("Cat", "cats"), ("Dog", "dogs"))', '(("Cat", "dogs"), ("Dog", "cats"))'),
    Mutant("make_subset", "singular class folders (cat/, dog/)", "folder = target_dir / subset_name / target_class",
           "folder = target_dir / subset_name / target_class[:-1]"),
    Mutant("make_subset", "moves the originals instead of copying them", "shutil.copyfile(source,", "shutil.move(source,"),
    Mutant("make_subset", "keeps the original file names (3.jpg)", 'folder / f"{target_class[:-1]}.{number}.jpg"',
           'folder / f"{number}.jpg"'),
    Mutant("make_subset", "creates the parent folders only if they exist already (no parents=True)",
           "folder.mkdir(parents=True, exist_ok=True)", "folder.mkdir(exist_ok=True)"),
    Mutant("make_subset", "fails on folders that exist already (no exist_ok=True)",
           "folder.mkdir(parents=True, exist_ok=True)", "folder.mkdir(parents=True)"),
    Mutant("make_subset", "creates a class folder only when it copies an image into it", replacement='''
def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    copied = {"cats": 0, "dogs": 0}
    for source_class, target_class in (("Cat", "cats"), ("Dog", "dogs")):
        folder = pathlib.Path(target_dir) / subset_name / target_class
        for number in range(start_index, end_index):
            source = pathlib.Path(source_dir) / source_class / f"{number}.jpg"
            if source.is_file():
                folder.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, folder / f"{target_class[:-1]}.{number}.jpg")
                copied[target_class] += 1
    return copied
'''),
    Mutant("make_subset", "does not skip a number whose file is missing", "            if source.is_file():\n"
           "                shutil.copyfile(source, folder / f\"{target_class[:-1]}.{number}.jpg\")\n"
           "                copied[target_class] += 1\n",
           "            shutil.copyfile(source, folder / f\"{target_class[:-1]}.{number}.jpg\")\n"
           "            copied[target_class] += 1\n"),
    Mutant("make_subset", "returns the size of the range, not the number of images copied",
           "                copied[target_class] += 1\n", "            copied[target_class] += 1\n"),
    Mutant("make_subset", "reads the number of every file in the folder (Thumbs.db is no number)", replacement='''
def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    copied = {}
    for source_class, target_class in (("Cat", "cats"), ("Dog", "dogs")):
        folder = pathlib.Path(target_dir) / subset_name / target_class
        folder.mkdir(parents=True, exist_ok=True)
        copied[target_class] = 0
        for path in sorted(pathlib.Path(source_dir, source_class).iterdir()):
            number = int(path.stem)
            if start_index <= number < end_index:
                shutil.copyfile(path, folder / f"{target_class[:-1]}.{number}.jpg")
                copied[target_class] += 1
    return copied
'''),
    Mutant("make_subset", "takes positions in a listing sorted as text, not numbers", replacement='''
def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    copied = {}
    for source_class, target_class in (("Cat", "cats"), ("Dog", "dogs")):
        folder = os.path.join(target_dir, subset_name, target_class)
        os.makedirs(folder, exist_ok=True)
        names = sorted(name for name in os.listdir(os.path.join(source_dir, source_class)) if name.endswith(".jpg"))
        chosen = names[start_index:end_index]
        for name in chosen:
            shutil.copyfile(os.path.join(source_dir, source_class, name),
                            os.path.join(folder, target_class[:-1] + "." + name))
        copied[target_class] = len(chosen)
    return copied
'''),
    # build_convnet_from_scratch
    Mutant("build_convnet_from_scratch", "forgets the Rescaling layer", "x = layers.Rescaling(1.0 / 255)(inputs)",
           "x = inputs"),
    Mutant("build_convnet_from_scratch", "softmax on a single unit", 'layers.Dense(1, activation="sigmoid")',
           'layers.Dense(1, activation="softmax")'),
    Mutant("build_convnet_from_scratch", "categorical cross-entropy", 'loss="binary_crossentropy"',
           'loss="categorical_crossentropy"'),
    Mutant("build_convnet_from_scratch", "Adam instead of RMSprop", 'optimizer="rmsprop"', 'optimizer="adam"'),
    Mutant("build_convnet_from_scratch", "150x150 inputs (the first edition's size)", "shape=(180, 180, 3)",
           "shape=(150, 150, 3)"),
    Mutant("build_convnet_from_scratch", "the first edition's learning rate 1e-4", 'optimizer="rmsprop"',
           "optimizer=keras.optimizers.RMSprop(learning_rate=1e-4)"),
    Mutant("build_convnet_from_scratch", "no metrics", ', metrics=["accuracy"])', ")"),
    Mutant("build_convnet_from_scratch", "padding='same' in the first convolution",
           'x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(x)',
           'x = layers.Conv2D(filters=32, kernel_size=3, activation="relu", padding="same")(x)'),
    # smooth_curve
    Mutant("smooth_curve", "swaps the weights of the previous value and the new point",
           "previous * factor + point * (1 - factor)", "previous * (1 - factor) + point * factor"),
    Mutant("smooth_curve", "starts the average at 0 instead of the first point", replacement='''
def smooth_curve(points, factor=0.8):
    smoothed_points = []
    previous = 0.0
    for point in points:
        previous = previous * factor + point * (1 - factor)
        smoothed_points.append(previous)
    return smoothed_points
'''),
    Mutant("smooth_curve", "drops the first point", "    return smoothed_points", "    return smoothed_points[1:]"),
    Mutant("smooth_curve", "averages with the previous raw point, not the previous smoothed value", replacement='''
def smooth_curve(points, factor=0.8):
    smoothed_points = [points[0]]
    for previous, point in zip(points[:-1], points[1:]):
        smoothed_points.append(previous * factor + point * (1 - factor))
    return smoothed_points
'''),
    Mutant("smooth_curve", "smooths in place, changing the caller's array", replacement='''
def smooth_curve(points, factor=0.8):
    for i in range(1, len(points)):
        points[i] = points[i - 1] * factor + points[i] * (1 - factor)
    return points
'''),
    # make_augmentation
    Mutant("make_augmentation", "flips upside down", 'layers.RandomFlip("horizontal")', 'layers.RandomFlip("vertical")'),
    Mutant("make_augmentation", "reads the rotation factor as radians (0.1 rad = 0.016 of a turn)",
           "layers.RandomRotation(0.1)", "layers.RandomRotation(0.1 / (2 * np.pi))"),
    Mutant("make_augmentation", "forgets the zoom", "        layers.RandomZoom(0.2),\n", ""),
    Mutant("make_augmentation", "zooms before it turns",
           "        layers.RandomRotation(0.1),\n        layers.RandomZoom(0.2),\n",
           "        layers.RandomZoom(0.2),\n        layers.RandomRotation(0.1),\n"),
    Mutant("make_augmentation", "fills with the nearest pixel, as the first edition's ImageDataGenerator",
           "layers.RandomRotation(0.1)", 'layers.RandomRotation(0.1, fill_mode="nearest")'),
    Mutant("make_augmentation", "zooms the width independently of the height", "layers.RandomZoom(0.2)",
           "layers.RandomZoom(0.2, 0.2)"),
    Mutant("make_augmentation", "also rescales inside the stage (an extra layer)", "        layers.RandomZoom(0.2),\n",
           "        layers.RandomZoom(0.2),\n        layers.Rescaling(1.0 / 255),\n"),
    Mutant("make_augmentation", "augments at inference too (a custom layer that ignores training)", replacement='''
class AlwaysAugment(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flip = layers.RandomFlip("horizontal")
        self.rotation = layers.RandomRotation(0.1)
        self.zoom = layers.RandomZoom(0.2)

    def call(self, images, training=None):
        images = self.flip(images, training=True)
        images = self.rotation(images, training=True)
        return self.zoom(images, training=True)


def make_augmentation():
    return keras.Sequential([AlwaysAugment()])
'''),
    Mutant("make_augmentation", "never augments (a custom layer that calls its layers with training=False)",
           replacement='''
class NeverAugment(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flip = layers.RandomFlip("horizontal")
        self.rotation = layers.RandomRotation(0.1)
        self.zoom = layers.RandomZoom(0.2)

    def call(self, images, training=None):
        images = self.flip(images, training=False)
        images = self.rotation(images, training=False)
        return self.zoom(images, training=False)


def make_augmentation():
    return keras.Sequential([NeverAugment()])
'''),
    # build_convnet_with_augmentation
    Mutant("build_convnet_with_augmentation", "forgets the Dropout layer", "    x = layers.Dropout(0.5)(x)\n", ""),
    Mutant("build_convnet_with_augmentation", "puts Dropout after the Dense head",
           '    x = layers.Dropout(0.5)(x)\n    outputs = layers.Dense(1, activation="sigmoid")(x)\n',
           '    x = layers.Dense(1, activation="sigmoid")(x)\n    outputs = layers.Dropout(0.5)(x)\n'),
    Mutant("build_convnet_with_augmentation", "forgets to call the augmentation stage", "x = data_augmentation(inputs)",
           "x = inputs"),
    Mutant("build_convnet_with_augmentation", "forgets the Rescaling layer", "    x = layers.Rescaling(1.0 / 255)(x)\n", ""),
    Mutant("build_convnet_with_augmentation", "flips both ways", 'layers.RandomFlip("horizontal")',
           'layers.RandomFlip("horizontal_and_vertical")'),
    Mutant("build_convnet_with_augmentation", "Dropout(0.2)", "layers.Dropout(0.5)", "layers.Dropout(0.2)"),
    Mutant("build_convnet_with_augmentation", "not compiled",
           '    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])\n', ""),
]

# Right answers written differently: each must get full marks.
VARIANTS = {
    "smooth_curve": {
        "NumPy, returning an array": '''
def smooth_curve(points, factor=0.8):
    points = np.asarray(points, dtype=float)
    smoothed = np.empty_like(points)
    for i, point in enumerate(points):
        smoothed[i] = point if i == 0 else smoothed[i - 1] * factor + point * (1 - factor)
    return smoothed
''',
    },
    "make_subset": {
        "os.makedirs, os.path and shutil.copy": '''
def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    counts = {"cats": 0, "dogs": 0}
    for original, category in [("Cat", "cat"), ("Dog", "dog")]:
        destination = os.path.join(str(target_dir), subset_name, category + "s")
        os.makedirs(destination, exist_ok=True)
        for i in range(start_index, end_index):
            source = os.path.join(str(source_dir), original, str(i) + ".jpg")
            if os.path.exists(source):
                shutil.copy(source, os.path.join(destination, f"{category}.{i}.jpg"))
                counts[category + "s"] += 1
    return counts
''',
    },
    "make_augmentation": {
        "Sequential built with add(), factors given as ranges": '''
def make_augmentation():
    stage = keras.Sequential(name="data_augmentation")
    stage.add(keras.layers.RandomFlip(mode="horizontal"))
    stage.add(keras.layers.RandomRotation(factor=(-0.1, 0.1)))
    stage.add(keras.layers.RandomZoom(height_factor=(-0.2, 0.2)))
    return stage
''',
    },
    "build_convnet_from_scratch": {
        "a Sequential model with the same layers": '''
def build_convnet_from_scratch():
    model = keras.Sequential([keras.Input(shape=(180, 180, 3)), layers.Rescaling(1 / 255.0)])
    for filters in (32, 64, 128, 256):
        model.add(layers.Conv2D(filters, (3, 3), activation="relu"))
        model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(256, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.BinaryCrossentropy(), metrics=[keras.metrics.BinaryAccuracy()])
    return model
''',
    },
    "build_convnet_with_augmentation": {
        "augmentation layers inline after Rescaling, Dropout before Flatten": '''
def build_convnet_with_augmentation():
    inputs = keras.Input(shape=(180, 180, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.RandomFlip("horizontal")(x)
    x = layers.RandomRotation(0.1)(x)
    x = layers.RandomZoom(0.2)(x)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["acc"])
    return model
''',
    },
}


# -- handed-in files ---------------------------------------------------------------------------
#
# Each file is made once per data profile with the reference code (the source notebook's
# solution cells, run in this process), then cached under
# COURSE_DATA_DIR/demo-models/04_small_data_convnets/<profile>/<kind>-<key>.keras. The key hashes
# the recipe, the reference code and the Keras version, so a changed recipe trains afresh.
# Only "from_scratch" and "with_augmentation" train (see their docstrings for the cost); every
# other file is built from them or from an untrained network in a second or two. A recipe that
# uses another file's weights gets that file from model_file as well, and its key covers the
# reference code, so a changed solution retrains everything.

SEED = 1337
EPOCHS = 30  # as the notebook's section 4, on both profiles (test_trained_dogs_vs_cats.py checks)
FINE_TUNE_EPOCHS = 3
MODEL_RECIPES = {}


def _recipe(function):
    MODEL_RECIPES[function.__name__.lstrip("_")] = function
    return function


def _datasets():
    """The notebook's training and validation datasets (section 2), quietly."""
    import keras
    from cnn_course.data import make_cats_vs_dogs_small
    with contextlib.redirect_stdout(io.StringIO()):
        base = make_cats_vs_dogs_small()
        return [keras.utils.image_dataset_from_directory(base / subset, image_size=(180, 180), batch_size=32,
                                                         seed=SEED) for subset in ("train", "validation")]


@_recipe
def _from_scratch(reference, path):
    """The notebook's section 4 run: configure(seed=SEED) right before the reference
    train_convnet_from_scratch; its best epoch. On the embedded profile about 5 minutes on 2 CPU
    cores (first run only; datasets/demo-models keeps the file)."""
    from cnn_course.runtime import configure
    train, validation = _datasets()
    configure(seed=SEED, deterministic=True)
    with contextlib.redirect_stdout(io.StringIO()):
        reference.train_convnet_from_scratch(train, validation, EPOCHS, filepath=str(path))


@_recipe
def _with_augmentation(reference, path):
    """A correct convnet_with_augmentation.keras, made cheaply: a build_convnet_with_augmentation()
    network that starts from the trained from-scratch weights (the two networks have the same
    weights: augmentation and dropout have none) and trains FINE_TUNE_EPOCHS more epochs with
    augmentation and dropout, its best epoch kept by a ModelCheckpoint on the validation loss.
    Trained from a random start, as the notebook does, it needs as many epochs as the first
    network; this file only has to be a plausible correct hand-in, and costs a few seconds per
    epoch on the embedded profile."""
    import keras
    from cnn_course.runtime import configure
    train, validation = _datasets()
    configure(seed=SEED, deterministic=True)
    model = reference.build_convnet_with_augmentation()
    model.set_weights(keras.saving.load_model(model_file("from_scratch"), compile=False).get_weights())
    checkpoint = keras.callbacks.ModelCheckpoint(filepath=str(path), save_best_only=True, monitor="val_loss")
    model.fit(train, epochs=FINE_TUNE_EPOCHS, validation_data=validation, callbacks=[checkpoint], verbose=0)


@_recipe
def _untrained(reference, path):
    """Saved straight after building: the training cell was never run."""
    reference.build_convnet_from_scratch().save(path)


def _trained_layers(reference):
    import keras
    return keras.saving.load_model(model_file("from_scratch"), compile=False).layers


@_recipe
def _rescaled_outside(reference, path):
    """The trained network without its Rescaling layer, as if the images had been divided by 255 in
    the data pipeline (dataset.map) instead of in the model: the grader's 0..255 images saturate it."""
    import keras
    trained = [layer for layer in _trained_layers(reference)
               if not isinstance(layer, (keras.layers.InputLayer, keras.layers.Rescaling))]
    model = keras.Sequential([keras.Input(shape=(180, 180, 3))] + trained)
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    model.save(path)


@_recipe
def _two_softmax_units(reference, path):
    """Two softmax outputs (one per class) instead of one sigmoid: predictions of shape (N, 2)."""
    import keras
    base = reference.build_convnet_from_scratch()
    outputs = keras.layers.Dense(2, activation="softmax")(base.layers[-2].output)
    model = keras.Model(base.inputs, outputs)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    model.save(path)


@_recipe
def _logits(reference, path):
    """The trained weights under a Dense(1) without sigmoid: it predicts logits, not probabilities."""
    import keras
    trained = _trained_layers(reference)
    model = reference.build_convnet_from_scratch()
    head = keras.Model(model.inputs, keras.layers.Dense(1)(model.layers[-2].output))
    head.set_weights([w for layer in trained for w in layer.get_weights()])
    head.save(path)


@_recipe
def _hdf5_renamed(reference, path):
    """Saved in the legacy HDF5 format (the lecture's first edition, model.h5), then renamed to .keras."""
    with tempfile.TemporaryDirectory() as scratch:
        legacy = Path(scratch) / "model.h5"
        reference.build_convnet_from_scratch().save(legacy)
        shutil.copy(legacy, path)


@_recipe
def _lambda_layer(reference, path):
    """A model carrying Python code in a Lambda layer: safe mode must refuse to load it."""
    import keras
    inputs = keras.Input(shape=(180, 180, 3))
    x = keras.layers.Lambda(lambda t: t / 255.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x)).save(path)


def _cache_key(kind: str) -> str:
    import keras
    from autograder.submissions import reference_cells
    from cnn_course.data import STANDIN_VERSION
    answers = reference_cells(ASSIGNMENT)
    parts = [inspect.getsource(MODEL_RECIPES[kind]), inspect.getsource(_datasets), keras.__version__,
             str((SEED, EPOCHS, FINE_TUNE_EPOCHS)), STANDIN_VERSION]
    parts += [code_only(answers[name]) for name in ("build_convnet_from_scratch", "build_convnet_with_augmentation",
                                         "train_convnet_from_scratch", "train_convnet_with_augmentation")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def model_file(kind: str) -> Path:
    """The cached file for ``kind`` (a key of MODEL_RECIPES), made on first use."""
    return cached_model_file(ASSIGNMENT, kind, _cache_key(kind), MODEL_RECIPES[kind], SEED)


def handed_in(folder) -> None:
    """What a correct submission hands in besides its notebook: both trained models."""
    shutil.copy(model_file("from_scratch"), Path(folder) / FROM_SCRATCH_FILE)
    shutil.copy(model_file("with_augmentation"), Path(folder) / WITH_AUGMENTATION_FILE)


# Handed-in files with a mistake: (target, file kind or None for no file, text the message must
# contain). Each must lose exactly its target's points. The untrained network is handed in as the
# model from scratch (one floor mistake is enough); the model with augmentation gets the format,
# shape and loss mistakes.
FILE_MUTANTS = {
    "missing file": ("train_convnet_with_augmentation", None, f"{WITH_AUGMENTATION_FILE} is missing from your submission"),
    "untrained model": ("train_convnet_from_scratch", "untrained", "the floor is"),
    "rescaled in the data pipeline, no Rescaling layer": ("train_convnet_from_scratch", "rescaled_outside",
                                                          "expected Rescaling"),
    "two softmax units instead of one sigmoid": ("train_convnet_with_augmentation", "two_softmax_units",
                                                 "is not the network this assignment asks for"),
    "logits: no sigmoid on the output": ("train_convnet_from_scratch", "logits", "not probabilities"),
    "HDF5 file renamed to .keras": ("train_convnet_with_augmentation", "hdf5_renamed", "is not a Keras model file"),
    "Lambda layer (refused by safe mode)": ("train_convnet_from_scratch", "lambda_layer", "Lambda"),
}
