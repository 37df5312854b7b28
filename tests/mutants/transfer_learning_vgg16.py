"""Assignment 05: plausible wrong answers (mutants) and differently written right ones.

Code mutants (MUTANTS) replace one solution cell; tests/test_mutants.py proves that each loses
exactly its own function's points. The two trained models are graded only from the files handed
in with the notebook, so their mistakes are files (FILE_MUTANTS), made by ``model_file`` and
cached under COURSE_DATA_DIR; tests/test_trained_vgg16.py grades them. ``handed_in`` puts the
correct files next to a submission, so that the code mutants keep the trained models' points.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import io
import shutil
import tempfile
from pathlib import Path

from autograder.submissions import cached_model_file, mutant_factory

ASSIGNMENT = "05_transfer_learning_vgg16"
FEATURES_FILE = "feature_extraction.keras"
FINE_TUNED_FILE = "fine_tuning.keras"
HANDED_IN_TARGETS = {"train_feature_classifier", "fine_tune"}  # see FILE_MUTANTS

GRADE_TOGETHER = True  # Keras in the sandbox: tens of seconds a grading (tests/test_mutants.py)

BASE = {}

BASE["extract_features"] = '''
def extract_features(conv_base, dataset):
    features, labels = [], []
    for batch_images, batch_labels in dataset:
        prepared = keras.applications.vgg16.preprocess_input(batch_images)
        features.append(conv_base.predict(prepared, verbose=0))
        labels.append(batch_labels.numpy())
    return np.concatenate(features, axis=0), np.concatenate(labels, axis=0)
'''

BASE["build_feature_classifier"] = '''
def build_feature_classifier(feature_shape):
    inputs = keras.Input(shape=feature_shape)
    x = layers.Flatten()(inputs)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model
'''

BASE["build_frozen_base_model"] = '''
def build_frozen_base_model(conv_base, augmentation):
    conv_base.trainable = False
    inputs = keras.Input(shape=conv_base.input_shape[1:])
    x = augmentation(inputs)
    x = keras.applications.vgg16.preprocess_input(x)
    x = conv_base(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model
'''

BASE["prepare_fine_tuning"] = '''
def prepare_fine_tuning(model, conv_base, first_trainable="block5_conv1", learning_rate=1e-5):
    names = [layer.name for layer in conv_base.layers]
    if first_trainable not in names:
        raise ValueError(f"no layer {first_trainable!r} in conv_base")
    first = names.index(first_trainable)
    conv_base.trainable = True
    for layer in conv_base.layers[:first]:
        layer.trainable = False
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model
'''

Mutant = mutant_factory(BASE)

MUTANTS = [
    # extract_features
    Mutant("extract_features", "forgets preprocess_input",
           "prepared = keras.applications.vgg16.preprocess_input(batch_images)", "prepared = batch_images"),
    Mutant("extract_features", "divides by 255 before preprocess_input (Rescaling habit)",
           "preprocess_input(batch_images)", "preprocess_input(batch_images / 255.0)"),
    Mutant("extract_features", "preprocesses twice",
           "preprocess_input(batch_images)", "preprocess_input(keras.applications.vgg16.preprocess_input(batch_images))"),
    Mutant("extract_features", "preprocesses in 'tf' mode (scaled to -1..1, as for MobileNet)",
           "keras.applications.vgg16.preprocess_input(batch_images)",
           'keras.applications.imagenet_utils.preprocess_input(batch_images, mode="tf")'),
    Mutant("extract_features", "takes the features before the last pooling (block5_conv3)", replacement='''
def extract_features(conv_base, dataset):
    extractor = keras.Model(conv_base.inputs, conv_base.get_layer("block5_conv3").output)
    features, labels = [], []
    for batch_images, batch_labels in dataset:
        features.append(extractor.predict(keras.applications.vgg16.preprocess_input(batch_images), verbose=0))
        labels.append(batch_labels.numpy())
    return np.concatenate(features), np.concatenate(labels)
'''),
    Mutant("extract_features", "reads the labels in a second pass over the reshuffling dataset", replacement='''
def extract_features(conv_base, dataset):
    features = [conv_base.predict(keras.applications.vgg16.preprocess_input(images), verbose=0)
                for images, _ in dataset]
    labels = [labels.numpy() for _, labels in dataset]
    return np.concatenate(features), np.concatenate(labels)
'''),
    # build_feature_classifier
    Mutant("build_feature_classifier", "no sigmoid on the output (logits)", 'layers.Dense(1, activation="sigmoid")',
           "layers.Dense(1)"),
    Mutant("build_feature_classifier", "no ReLU in Dense(256) (the 2nd edition's listing)",
           'layers.Dense(256, activation="relu")', "layers.Dense(256)"),
    Mutant("build_feature_classifier", "forgets the Dropout", "    x = layers.Dropout(0.5)(x)\n", ""),
    Mutant("build_feature_classifier", "hard-codes VGG16's feature shape", "keras.Input(shape=feature_shape)",
           "keras.Input(shape=(5, 5, 512))"),
    Mutant("build_feature_classifier", "Adam instead of RMSprop", 'optimizer="rmsprop"', 'optimizer="adam"'),
    Mutant("build_feature_classifier", "the fine-tuning learning rate 1e-5 already", 'optimizer="rmsprop"',
           "optimizer=keras.optimizers.RMSprop(learning_rate=1e-5)"),
    # build_frozen_base_model
    Mutant("build_frozen_base_model", "leaves the base trainable", "    conv_base.trainable = False\n", ""),
    Mutant("build_frozen_base_model", "adds Rescaling(1/255) before preprocess_input",
           "x = keras.applications.vgg16.preprocess_input(x)",
           "x = layers.Rescaling(1.0 / 255)(x)\n    x = keras.applications.vgg16.preprocess_input(x)"),
    Mutant("build_frozen_base_model", "forgets preprocess_input", "    x = keras.applications.vgg16.preprocess_input(x)\n",
           ""),
    Mutant("build_frozen_base_model", "forgets the augmentation stage", "x = augmentation(inputs)", "x = inputs"),
    Mutant("build_frozen_base_model", "hard-codes 180x180 inputs", "keras.Input(shape=conv_base.input_shape[1:])",
           "keras.Input(shape=(180, 180, 3))"),
    Mutant("build_frozen_base_model", "freezes the whole model, classifier included",
           "    return model\n", "    model.trainable = False\n    return model\n"),
    # prepare_fine_tuning
    Mutant("prepare_fine_tuning", "does not recompile", "    model.compile(optimizer=keras.optimizers.RMSprop("
           "learning_rate=learning_rate), loss=\"binary_crossentropy\",\n                  metrics=[\"accuracy\"])\n",
           ""),
    Mutant("prepare_fine_tuning", "sets the learning rate on the old optimizer instead of recompiling",
           "    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate), loss=\"binary_crossentropy\","
           "\n                  metrics=[\"accuracy\"])\n",
           "    model.optimizer.learning_rate = learning_rate\n"),
    Mutant("prepare_fine_tuning", "recompiles with the default learning rate 1e-3", "keras.optimizers.RMSprop("
           "learning_rate=learning_rate)", '"rmsprop"'),
    Mutant("prepare_fine_tuning", "unfreezes the whole base", "    for layer in conv_base.layers[:first]:\n"
           "        layer.trainable = False\n", ""),
    Mutant("prepare_fine_tuning", "always unfreezes the last four layers (the lecture's [:-4])",
           "conv_base.layers[:first]", "conv_base.layers[:-4]"),
    Mutant("prepare_fine_tuning", "does not check the layer name (everything stays frozen)", replacement='''
def prepare_fine_tuning(model, conv_base, first_trainable="block5_conv1", learning_rate=1e-5):
    conv_base.trainable = True
    set_trainable = False
    for layer in conv_base.layers:
        if layer.name == first_trainable:
            set_trainable = True
        layer.trainable = set_trainable
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model
'''),
]

VARIANTS = {
    "extract_features": {
        "calls the base instead of predict, on NumPy batches": '''
def extract_features(conv_base, dataset):
    features, labels = [], []
    for images, batch_labels in dataset.as_numpy_iterator():
        prepared = keras.applications.vgg16.preprocess_input(images.copy())
        features.append(np.asarray(conv_base(prepared, training=False)))
        labels.append(batch_labels)
    return np.vstack(features), np.hstack(labels)
''',
        "imagenet_utils in caffe mode": '''
from keras.applications import imagenet_utils


def extract_features(conv_base, dataset):
    pairs = [(conv_base.predict(imagenet_utils.preprocess_input(x, mode="caffe"), verbose=0), np.asarray(y))
             for x, y in dataset]
    return np.concatenate([f for f, _ in pairs]), np.concatenate([y for _, y in pairs])
''',
    },
    "build_feature_classifier": {
        "Sequential, metric 'acc'": '''
def build_feature_classifier(feature_shape):
    model = keras.Sequential([
        keras.Input(shape=feature_shape),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer=keras.optimizers.RMSprop(), loss="binary_crossentropy", metrics=["acc"])
    return model
''',
    },
    "build_frozen_base_model": {
        "freezes after compile (Keras picks the weights at the first fit)": '''
def build_frozen_base_model(conv_base, augmentation):
    inputs = keras.Input(shape=conv_base.input_shape[1:])
    x = augmentation(inputs)
    x = preprocess_input(x)
    x = conv_base(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    conv_base.trainable = False
    return model
''',
        "augmentation after preprocess_input, layers frozen one by one": '''
def build_frozen_base_model(conv_base, augmentation):
    for layer in conv_base.layers:
        layer.trainable = False
    inputs = keras.Input(shape=conv_base.input_shape[1:])
    x = preprocess_input(inputs)
    x = augmentation(x)
    x = conv_base(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.RMSprop(1e-3), metrics=["accuracy"])
    return model
''',
    },
    "prepare_fine_tuning": {
        "compiles, then sets the flags (Keras 3 fixes the trained weights at the next fit)": '''
def prepare_fine_tuning(model, conv_base, first_trainable="block5_conv1", learning_rate=1e-5):
    names = [layer.name for layer in conv_base.layers]
    if first_trainable not in names:
        raise ValueError(f"no layer {first_trainable!r} in conv_base")
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    conv_base.trainable = True
    for layer in conv_base.layers[:names.index(first_trainable)]:
        layer.trainable = False
    return model
''',
        "sets each layer's flag, never conv_base.trainable (Keras 3 reads each layer's own flag)": '''
def prepare_fine_tuning(model, conv_base, first_trainable="block5_conv1", learning_rate=1e-5):
    names = [layer.name for layer in conv_base.layers]
    if first_trainable not in names:
        raise ValueError(f"no layer {first_trainable!r} in conv_base")
    for position, layer in enumerate(conv_base.layers):
        layer.trainable = position >= names.index(first_trainable)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model
''',
        "get_layer for the check, enumerate for the flags": '''
def prepare_fine_tuning(model, conv_base, first_trainable="block5_conv1", learning_rate=1e-5):
    first = conv_base.layers.index(conv_base.get_layer(first_trainable))  # get_layer raises ValueError
    conv_base.trainable = True
    for index, layer in enumerate(conv_base.layers):
        layer.trainable = index >= first
    optimizer = keras.optimizers.RMSprop(learning_rate=learning_rate)
    model.compile(optimizer, "binary_crossentropy", metrics=["accuracy"])
    return model
''',
    },
}


# -- handed-in files ---------------------------------------------------------------------------
#
# Each file is made once per data profile with the reference code (the source notebook's solution
# cells, run in this process), then cached under
# COURSE_DATA_DIR/demo-models/05_transfer_learning_vgg16/<profile>/<kind>-<key>.keras. The key hashes
# the recipe, the reference code, the course's base and the Keras version.

SEED = 1337
FEATURE_EPOCHS = 20  # as the notebook's section 3.2
FROZEN_EPOCHS, FINE_TUNE_EPOCHS = 3, 2  # fewer than the notebook's: a plausible correct file, made cheaply
MODEL_RECIPES = {}


def _recipe(function):
    MODEL_RECIPES[function.__name__.lstrip("_")] = function
    return function


def _datasets():
    """The notebook's training, validation and test datasets (section 2), quietly."""
    import keras
    from cnn_course.data import make_cats_vs_dogs_small
    with contextlib.redirect_stdout(io.StringIO()):
        base = make_cats_vs_dogs_small()
        return [keras.utils.image_dataset_from_directory(base / subset, image_size=(180, 180), batch_size=32,
                                                         seed=SEED, shuffle=subset != "test")
                for subset in ("train", "validation", "test")]


def _conv_base():
    from cnn_course.pretrained import load_conv_base
    with contextlib.redirect_stdout(io.StringIO()):
        return load_conv_base((180, 180, 3))


def _features(reference, divide_by_255=False):
    train, validation, _ = _datasets()
    base = _conv_base()
    if divide_by_255:
        def divide(images, labels):
            return images / 255.0, labels
        train, validation = train.map(divide), validation.map(divide)
    return reference.extract_features(base, train), reference.extract_features(base, validation)


@_recipe
def _feature_extraction(reference, path):
    """The notebook's section 3: features by the course's base, then train_feature_classifier for
    FEATURE_EPOCHS epochs; its best epoch. A few seconds on the embedded profile."""
    from cnn_course.runtime import configure
    (x_train, y_train), (x_val, y_val) = _features(reference)
    configure(seed=SEED, deterministic=True)
    with contextlib.redirect_stdout(io.StringIO()):
        reference.train_feature_classifier(x_train, y_train, x_val, y_val, FEATURE_EPOCHS, filepath=str(path))


@_recipe
def _divided_by_255(reference, path):
    """The classic mistake: the classifier trained on features of images divided by 255 before
    preprocess_input (the base then sees nearly uniform images); the grader gives it real features."""
    from cnn_course.runtime import configure
    (x_train, y_train), (x_val, y_val) = _features(reference, divide_by_255=True)
    configure(seed=SEED, deterministic=True)
    with contextlib.redirect_stdout(io.StringIO()):
        reference.train_feature_classifier(x_train, y_train, x_val, y_val, FEATURE_EPOCHS, filepath=str(path))


@_recipe
def _untrained_classifier(reference, path):
    """Saved straight after building: the training cell was never run."""
    reference.build_feature_classifier(tuple(_conv_base().output_shape[1:])).save(path)


@_recipe
def _classifier_logits(reference, path):
    """The trained classifier's weights under a Dense(1) without sigmoid: it predicts logits."""
    import keras
    trained = keras.saving.load_model(model_file("feature_extraction"), compile=False)
    inputs = keras.Input(shape=trained.input_shape[1:])
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(256, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.set_weights(trained.get_weights())
    model.save(path)


@_recipe
def _classifier_lambda(reference, path):
    """A classifier carrying Python code in a Lambda layer: safe mode must refuse to load it."""
    import keras
    inputs = keras.Input(shape=tuple(_conv_base().output_shape[1:]))
    x = keras.layers.Lambda(lambda t: t * 1.0)(inputs)
    x = keras.layers.Flatten()(x)
    keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(x)).save(path)


@_recipe
def _fine_tuning(reference, path):
    """Sections 4 and 5 of the notebook, shortened: build_frozen_base_model around the course's base,
    FROZEN_EPOCHS epochs with its checkpoint, then fine_tune for FINE_TUNE_EPOCHS epochs from that
    checkpoint; the best epoch. About half a minute on the embedded profile (first run only)."""
    import keras
    from keras import layers
    from cnn_course.runtime import configure
    train, validation, _ = _datasets()
    configure(seed=SEED, deterministic=True)
    augmentation = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomRotation(0.1),
                                     layers.RandomZoom(0.2)], name="data_augmentation")
    model = reference.build_frozen_base_model(_conv_base(), augmentation)
    with tempfile.TemporaryDirectory() as scratch:
        frozen = Path(scratch) / "frozen.keras"
        checkpoint = keras.callbacks.ModelCheckpoint(filepath=str(frozen), save_best_only=True, monitor="val_loss")
        model.fit(train, epochs=FROZEN_EPOCHS, validation_data=validation, callbacks=[checkpoint], verbose=0)
        model = keras.models.load_model(frozen)
    with contextlib.redirect_stdout(io.StringIO()):
        reference.fine_tune(model, model.get_layer("vgg16"), train, validation, FINE_TUNE_EPOCHS, filepath=str(path))


@_recipe
def _fine_tuning_with_rescaling(reference, path):
    """The fine-tuned network with Rescaling(1/255) between the augmentation and preprocess_input."""
    import keras
    from keras import layers
    trained = keras.saving.load_model(model_file("fine_tuning"), compile=False)
    base = trained.get_layer("vgg16")
    head = [layer for layer in trained.layers if isinstance(layer, (layers.Flatten, layers.Dense, layers.Dropout))]
    inputs = keras.Input(shape=(180, 180, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = keras.applications.vgg16.preprocess_input(x)
    x = base(x)
    for layer in head:
        x = layer(x)
    keras.Model(inputs, x).save(path)


@_recipe
def _hdf5_renamed(reference, path):
    """Saved in the legacy HDF5 format (the lectures' model.h5), then renamed to .keras."""
    import keras
    with tempfile.TemporaryDirectory() as scratch:
        legacy = Path(scratch) / "model.h5"
        trained = keras.saving.load_model(model_file("fine_tuning"), compile=False)
        trained.save(legacy)
        shutil.copy(legacy, path)


def _cache_key(kind: str) -> str:
    import keras
    from autograder.submissions import reference_cells
    from cnn_course.data import STANDIN_VERSION
    from cnn_course.pretrained import standin_base_path
    answers = reference_cells(ASSIGNMENT)
    parts = [inspect.getsource(MODEL_RECIPES[kind]), inspect.getsource(_datasets), inspect.getsource(_features),
             keras.__version__, str((SEED, FEATURE_EPOCHS, FROZEN_EPOCHS, FINE_TUNE_EPOCHS)), STANDIN_VERSION,
             hashlib.sha256(standin_base_path().read_bytes()).hexdigest()]
    parts += [answers[name] for name in ("extract_features", "build_feature_classifier", "train_feature_classifier",
                                         "build_frozen_base_model", "prepare_fine_tuning", "fine_tune")]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def model_file(kind: str) -> Path:
    """The cached file for ``kind`` (a key of MODEL_RECIPES), made on first use."""
    return cached_model_file(ASSIGNMENT, kind, _cache_key(kind), MODEL_RECIPES[kind], SEED)


def handed_in(folder) -> None:
    """What a correct submission hands in besides its notebook: both trained models."""
    shutil.copy(model_file("feature_extraction"), Path(folder) / FEATURES_FILE)
    shutil.copy(model_file("fine_tuning"), Path(folder) / FINE_TUNED_FILE)


# Handed-in files with a mistake: (target, file kind or None for no file, text the message must
# contain). Each must lose exactly its target's points.
FILE_MUTANTS = {
    "missing file": ("fine_tune", None, f"{FINE_TUNED_FILE} is missing from your submission"),
    "untrained classifier": ("train_feature_classifier", "untrained_classifier", "the floor is"),
    "classifier trained on features of images divided by 255": ("train_feature_classifier", "divided_by_255",
                                                                "the floor is"),
    "Rescaling(1/255) before preprocess_input": ("fine_tune", "fine_tuning_with_rescaling", "Rescaling"),
    "the feature classifier handed in as the fine-tuned model": ("fine_tune", "feature_extraction",
                                                                 "is not the network this assignment asks for"),
    "logits: no sigmoid on the output": ("train_feature_classifier", "classifier_logits", "not probabilities"),
    "HDF5 file renamed to .keras": ("fine_tune", "hdf5_renamed", "is not a Keras model file"),
    "Lambda layer (refused by safe mode)": ("train_feature_classifier", "classifier_lambda", "Lambda"),
}
