"""Assignment 03: plausible wrong answers (mutants) and differently written right ones.

Code mutants (MUTANTS) replace one solution cell; tests/test_mutants.py proves that each loses
exactly its own function's points. The trained model is graded only from the file handed in with
the notebook, so its mistakes are files (FILE_MUTANTS), made by ``model_file`` with the reference
code and cached under COURSE_DATA_DIR; tests/test_trained_models.py grades them. ``handed_in``
puts the correct file next to a submission, so that the code mutants keep the trained model's
points.
"""

from __future__ import annotations

import hashlib
import inspect
import shutil
import tempfile
from pathlib import Path

from autograder.submissions import cached_model_file, code_only, mutant_factory

ASSIGNMENT = "03_mnist_convnet"
ARTIFACT = "mnist_convnet.keras"
HANDED_IN_TARGETS = {"train_mnist_convnet"}  # graded from ARTIFACT: see FILE_MUTANTS

GRADE_TOGETHER = True  # Keras in the sandbox: about 5 s a grading (tests/test_mutants.py)

BASE = {}

BASE["preprocess_images"] = '''
def preprocess_images(images):
    images = np.asarray(images)
    with_channel = images[..., np.newaxis]
    return with_channel.astype(np.float32) / np.float32(255)
'''

BASE["build_mnist_convnet"] = '''
def build_mnist_convnet():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop",
                  loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
'''

BASE["build_mnist_convnet_functional"] = '''
def build_mnist_convnet_functional():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_convnet")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    return model
'''

BASE["build_convnet_without_pooling"] = '''
def build_convnet_without_pooling():
    model = keras.Sequential()
    model.add(keras.Input(shape=(28, 28, 1)))
    model.add(layers.Conv2D(32, (3, 3), activation="relu"))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''


Mutant = mutant_factory(BASE)

_LECTURE_001 = '''
def build_mnist_convnet_functional():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(filters=32, kernel_size=3, activation="relu")(inputs)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=64, kernel_size=3, activation="relu")(x)
    x = layers.MaxPooling2D(pool_size=2)(x)
    x = layers.Conv2D(filters=128, kernel_size=3, activation="relu")(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''

MUTANTS = [
    # preprocess_images
    Mutant("preprocess_images", "forgets to divide by 255",
           "return with_channel.astype(np.float32) / np.float32(255)", "return with_channel.astype(np.float32)"),
    Mutant("preprocess_images", "forgets the channel axis",
           "with_channel = images[..., np.newaxis]", "with_channel = images"),
    Mutant("preprocess_images", "hard-codes the lecture's 60,000 images",
           "with_channel = images[..., np.newaxis]", "with_channel = images.reshape((60000, 28, 28, 1))"),
    Mutant("preprocess_images", "returns float64 (divides before casting)",
           "return with_channel.astype(np.float32) / np.float32(255)", "return with_channel / 255.0"),
    Mutant("preprocess_images", "divides by the batch's brightest pixel",
           "np.float32(255)", "np.float32(images.max())"),
    Mutant("preprocess_images", "adds the channel axis in place, changing the caller's array",
           "    with_channel = images[..., np.newaxis]\n",
           "    images.shape = images.shape + (1,)\n    with_channel = images\n"),
    # build_mnist_convnet
    Mutant("build_mnist_convnet", "forgets the second MaxPooling2D",
           '        layers.MaxPooling2D((2, 2)),\n        layers.Conv2D(64, (3, 3), activation="relu"),\n'
           '        layers.Flatten(),\n',
           '        layers.Conv2D(64, (3, 3), activation="relu"),\n        layers.Flatten(),\n'),
    Mutant("build_mnist_convnet", "sigmoid on the output layer",
           'layers.Dense(10, activation="softmax")', 'layers.Dense(10, activation="sigmoid")'),
    Mutant("build_mnist_convnet", "no Dense(64) hidden layer", '        layers.Dense(64, activation="relu"),\n', ""),
    Mutant("build_mnist_convnet", "categorical_crossentropy with integer labels",
           'loss="sparse_categorical_crossentropy"', 'loss="categorical_crossentropy"'),
    Mutant("build_mnist_convnet", "channels-first input shape (1, 28, 28)",
           "keras.Input(shape=(28, 28, 1))", "keras.Input(shape=(1, 28, 28))"),
    Mutant("build_mnist_convnet", "forgets the ReLU of the first convolution",
           'layers.Conv2D(32, (3, 3), activation="relu")', "layers.Conv2D(32, (3, 3))"),
    Mutant("build_mnist_convnet", "Adam instead of RMSprop", 'optimizer="rmsprop"', 'optimizer="adam"'),
    Mutant("build_mnist_convnet", "no metrics", '                  metrics=["accuracy"])', "                  )"),
    Mutant("build_mnist_convnet", "a Functional model",
           replacement=BASE["build_mnist_convnet_functional"].replace("def build_mnist_convnet_functional(",
                                                                      "def build_mnist_convnet(")),
    # build_mnist_convnet_functional
    Mutant("build_mnist_convnet_functional", "a Sequential model",
           replacement=BASE["build_mnist_convnet"].replace("def build_mnist_convnet(", "def build_mnist_convnet_functional(")),
    Mutant("build_mnist_convnet_functional", "lecture 001's network: 128 filters, no Dense(64)", replacement=_LECTURE_001),
    Mutant("build_mnist_convnet_functional", "forgets Flatten (Dense on the 3x3x64 map)",
           "    x = layers.Flatten()(x)\n", ""),
    Mutant("build_mnist_convnet_functional", "a pooling layer's result is not assigned to x",
           '(inputs)\n    x = layers.MaxPooling2D(pool_size=2)(x)', '(inputs)\n    layers.MaxPooling2D(pool_size=2)(x)'),
    Mutant("build_mnist_convnet_functional", "learning rate 0.01",
           "RMSprop(learning_rate=1e-3)", "RMSprop(learning_rate=1e-2)"),
    Mutant("build_mnist_convnet_functional", "forgets the ReLU of the Dense(64) layer",
           'layers.Dense(64, activation="relu")(x)', "layers.Dense(64)(x)"),
    # build_convnet_without_pooling
    Mutant("build_convnet_without_pooling", "keeps the first MaxPooling2D",
           '    model.add(layers.Conv2D(32, (3, 3), activation="relu"))\n',
           '    model.add(layers.Conv2D(32, (3, 3), activation="relu"))\n    model.add(layers.MaxPooling2D((2, 2)))\n'),
    Mutant("build_convnet_without_pooling", "lecture 002's model_no_max_pool: stops after the convolutions",
           '    model.add(layers.Flatten())\n    model.add(layers.Dense(64, activation="relu"))\n'
           '    model.add(layers.Dense(10, activation="softmax"))\n', ""),
    Mutant("build_convnet_without_pooling", "Dense(512), as in lecture 002's remark",
           "layers.Dense(64, ", "layers.Dense(512, "),
    Mutant("build_convnet_without_pooling", "downsamples with a strided convolution instead",
           'model.add(layers.Conv2D(32, (3, 3), activation="relu"))',
           'model.add(layers.Conv2D(32, (3, 3), strides=2, activation="relu"))'),
    Mutant("build_convnet_without_pooling", "not compiled",
           '    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])\n', ""),
]

# Right answers written differently: each must get full marks.
VARIANTS = {
    "preprocess_images": {
        "expand_dims, then a float division": '''
def preprocess_images(images):
    return np.expand_dims(np.asarray(images), axis=-1).astype("float32") / 255.0
''',
    },
    "build_mnist_convnet": {
        "model.add, RMSprop(learning_rate=1e-3) and a loss object": '''
from keras import models, optimizers, losses


def build_mnist_convnet():
    model = models.Sequential()
    model.add(keras.Input((28, 28, 1)))
    model.add(layers.Conv2D(32, 3, activation=keras.activations.relu))
    model.add(layers.MaxPooling2D(pool_size=(2, 2), strides=2))
    model.add(layers.Conv2D(64, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))
    model.add(layers.Conv2D(64, 3, activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer=optimizers.RMSprop(learning_rate=1e-3),
                  loss=losses.SparseCategoricalCrossentropy(), metrics=["acc"])
    return model
''',
        "activations as layers, metric object": '''
def build_mnist_convnet():
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3), layers.ReLU(),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3), layers.Activation("relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(64), layers.Activation("relu"),
        layers.Dense(10), layers.Softmax(),
    ], name="lecture_convnet")
    model.compile(optimizer=keras.optimizers.RMSprop(),
                  loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.SparseCategoricalAccuracy()])
    return model
''',
    },
    "build_mnist_convnet_functional": {
        "positional keras.Model, a loop over the stages, string settings": '''
def build_mnist_convnet_functional():
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for filters in (32, 64):
        x = layers.Conv2D(filters, (3, 3), activation="relu")(x)
        x = layers.MaxPooling2D((2, 2))(x)
    x = layers.Conv2D(64, (3, 3), activation="relu")(x)
    x = layers.Dense(64, activation="relu")(layers.Flatten()(x))
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    model.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
''',
    },
    "build_convnet_without_pooling": {
        "Functional API": '''
def build_convnet_without_pooling():
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Dense(64, activation="relu")(layers.Flatten()(x))
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.001),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model
''',
    },
}


# -- handed-in files ---------------------------------------------------------------------------
#
# Each file is made once per data profile with the reference code (the source notebook's
# solution cells, run in this process), then cached under
# COURSE_DATA_DIR/demo-models/03_mnist_convnet/<profile>/<kind>-<key>.keras. The key hashes the
# recipe, the reference code and the Keras version, so a changed recipe trains afresh. On the
# embedded profile the two trained files take about 5 s each on 2 CPU cores (first run only); on
# the full profile a few minutes each.

SEED = 1337
EPOCHS = 5
BATCH_SIZE = 64
MODEL_RECIPES = {}


def _recipe(function):
    MODEL_RECIPES[function.__name__.lstrip("_")] = function
    return function


def _training_data(reference):
    from cnn_course.data import load_mnist
    (images, labels), _ = load_mnist()
    return images, labels


@_recipe
def _trained(reference, path):
    """The reference network, trained by the reference train_mnist_convnet as in the notebook."""
    images, labels = _training_data(reference)
    model = reference.build_mnist_convnet()
    reference.train_mnist_convnet(model, reference.preprocess_images(images), labels, epochs=EPOCHS,
                                  batch_size=BATCH_SIZE)
    model.save(path)


@_recipe
def _untrained(reference, path):
    """Saved straight after building: the cell that trains was never run."""
    reference.build_mnist_convnet().save(path)


@_recipe
def _unnormalised(reference, path):
    """Trained on raw pixels 0..255 (the channel axis added, no division by 255)."""
    images, labels = _training_data(reference)
    model = reference.build_mnist_convnet()
    model.fit(images[..., None].astype("float32"), labels, epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0)
    model.save(path)


@_recipe
def _convolutional_base(reference, path):
    """Lecture 000's listing 5.1 saved on its own: the convolutions, no Flatten or Dense on top."""
    import keras
    model = reference.build_mnist_convnet()
    keras.Sequential([keras.Input(shape=(28, 28, 1))] + model.layers[:5]).save(path)


@_recipe
def _lookup_table(reference, path):
    """The attack of issue #8: no training, ordinary Keras layers that look the public test images up.
    Dense(n) holds every public test image (normalised) as a row; a softmax over the match scores,
    times a one-hot table of their labels, gives that image's label. It scores 1.0 on the public
    test split; the grader scores it on digits the student never had, and first refuses it for
    not having build_mnist_convnet's layers."""
    import keras
    import numpy as np
    from cnn_course.data import load_mnist
    _, (test_images, test_labels) = load_mnist()
    rows = reference.preprocess_images(test_images).reshape(len(test_images), -1)
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-6)
    match = keras.layers.Dense(len(rows), use_bias=False, activation=None)
    label_of = keras.layers.Dense(10, use_bias=False, activation=None)
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), match,
                              keras.layers.Rescaling(200.0), keras.layers.Softmax(), label_of])
    match.set_weights([rows.T.astype("float32")])
    label_of.set_weights([np.eye(10, dtype="float32")[test_labels]])
    model.save(path)


@_recipe
def _hdf5_renamed(reference, path):
    """Saved in the legacy HDF5 format (the lecture's model-5-1.h5), then renamed to .keras."""
    with tempfile.TemporaryDirectory() as scratch:
        legacy = Path(scratch) / "model.h5"
        reference.build_mnist_convnet().save(legacy)
        shutil.copy(legacy, path)


@_recipe
def _lambda_layer(reference, path):
    """A model carrying Python code in a Lambda layer: safe mode must refuse to load it."""
    import keras
    keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Lambda(lambda t: t * 1.0),
                      keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")]).save(path)


def _cache_key(kind: str) -> str:
    import keras
    from autograder.submissions import reference_cells
    answers = reference_cells(ASSIGNMENT)
    parts = [inspect.getsource(MODEL_RECIPES[kind]), keras.__version__, str((SEED, EPOCHS, BATCH_SIZE))]
    parts += [code_only(answers[name]) for name in ("preprocess_images", "build_mnist_convnet",
                                                      "train_mnist_convnet")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def model_file(kind: str) -> Path:
    """The cached file for ``kind`` (a key of MODEL_RECIPES), made on first use."""
    return cached_model_file(ASSIGNMENT, kind, _cache_key(kind), MODEL_RECIPES[kind], SEED)


def handed_in(folder) -> None:
    """What a correct submission hands in besides its notebook: the trained model."""
    shutil.copy(model_file("trained"), Path(folder) / ARTIFACT)


# Handed-in files with a mistake: each must lose exactly train_mnist_convnet's points, with a message
# that contains the text given here. None: no file at all.
FILE_MUTANTS = {
    "missing file": (None, f"{ARTIFACT} is missing from your submission"),
    "untrained model": ("untrained", "probability of"),
    "trained on unnormalised pixels": ("unnormalised", "prepared differently"),
    "wrong output size (convolutional base only)": ("convolutional_base", "is not the network this assignment asks for"),
    "a lookup table of the public test images, never trained": ("lookup_table",
                                                                 "is not the network this assignment asks for"),
    "HDF5 file renamed to .keras": ("hdf5_renamed", "is not a Keras model file"),
    "Lambda layer (refused by safe mode)": ("lambda_layer", "Lambda"),
}
