"""Attack catalogue for assignments 03 and 04: trained models and the folders a student's function writes.

What a student might try against the grader's trust design for these two assignments
(docs/THREAT_MODEL.md, "Assignments 03 and 04"), and what it gains. Each test's docstring says what
the student tries and what the grader does. The attacks on ``make_subset``'s folders are run first
on their own, in a sandbox session with a small cell (no Keras, a second each), where the grader's
listing (``StudentProxy.list_tree``) can be hammered; the attacks on models are graded for real:
one submission carries at most one attack per graded function, the functions left honest are the
witnesses that nothing else moved, and the handed-in files are made once and cached under
COURSE_DATA_DIR (``autograder.submissions.cached_model_file``, next to the mutant catalogues' files).

Everything here needs namespaces (the listing reads the sandbox's file system through its init
process), so it is skipped at the isolation level ``none``.
"""

import contextlib
import hashlib
import importlib.util
import inspect
import json
import os
import shutil
import threading
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.assignments import load_assignment
from autograder.grading import grade_submission, sandbox_config
from autograder.harness import StudentFailure, StudentProxy, process_cache
from autograder.sandbox import launcher
from autograder.sandbox.launcher import Limits
from autograder.sandbox.session import StudentSession
from autograder.secret import course_secret, secret_path
from autograder.submissions import build_submission, cached_model_file

REPO = Path(__file__).resolve().parents[1]
MNIST = "03_mnist_convnet"
DOGS = "04_small_data_convnets"

ISOLATION = launcher.available_isolation()
isolated_only = pytest.mark.skipif(ISOLATION == "none", reason="this machine allows no namespaces: at level "
                                   "'none' the grader claims only limits and cleanup (reports say NOT ISOLATED)")
pytestmark = isolated_only


# =========================================================================================
# 1. make_subset's folders, listed by the grader from outside the student's process (claim 3)
# =========================================================================================

def _listing_session(source: str) -> StudentSession:
    """A sandbox like assignment 04's, running ``source`` after NumPy: the student's side of a listing."""
    config = sandbox_config(load_assignment(DOGS), [secret_path(REPO)])
    config.limits = Limits(wall_seconds_per_call=20, wall_seconds_startup=60)
    return StudentSession([{"id": "setup", "source": "import numpy as np"}, {"id": "attack", "source": source}],
                          config)


def _fake_tree(proxy: StudentProxy) -> str:
    """What the grader writes before calling make_subset: a small folder in the sandbox's scratch."""
    return proxy.inspect("write_file_tree", {"PetImages/Cat/0.jpg": np.arange(40, dtype=np.uint8),
                                             "PetImages/Dog/0.jpg": np.arange(50, dtype=np.uint8)})


def _lister(proxy: StudentProxy, root: str, seconds: float, outcomes: dict) -> threading.Thread:
    """List ``root`` again and again for ``seconds``, counting what each listing did."""
    def run():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                proxy.list_tree(root)
                key = "listed"
            except StudentFailure as failure:
                key = "refused" + (": changed while listed" if "changed while the grader listed it" in failure.message
                                   else f": {failure.message}")
            except BaseException as error:  # anything else would be the grader's internal error
                key = f"{type(error).__name__}: {error}"[:120]
            outcomes[key] = outcomes.get(key, 0) + 1
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


SWAPPER = '''
import ctypes
import os
import time

_libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2


def start_swapping(root, host_fifo, seconds):
    """Eight folders, each swapped back and forth (renameat2, atomically) with a FIFO or with a link
    to a FIFO of the grading machine, by a child process that outlives this call."""
    pairs = []
    for i in range(8):
        folder = os.path.join(root, f"folder{i}")
        os.mkdir(folder)
        open(os.path.join(folder, "cat.0.jpg"), "wb").close()
        other = os.path.join(root, f"other{i}")
        if i % 2:
            os.mkfifo(other)
        else:
            os.symlink(host_fifo, other)
        pairs.append((folder.encode(), other.encode()))
    if os.fork() == 0:
        end = time.time() + seconds
        while time.time() < end:
            for a, b in pairs:
                _libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
        os._exit(0)
    return True
'''


def test_a_folder_swapped_for_a_fifo_or_a_link_while_the_grader_lists_gains_nothing(tmp_path):
    """The student's make_subset leaves a process behind that swaps, over and over, folders of its output
    with FIFOs and with links to a FIFO of the grading machine (``renameat2(RENAME_EXCHANGE)``), hoping
    the grader checks an entry while it is a folder and opens it once it has become the FIFO or the link.
    ``os.fwalk``, which the listing used, does exactly that: it opens each folder it has checked with
    plain ``O_RDONLY``, so a FIFO swapped in blocked the grading for good (no time limit covers the
    grader's own listing), and a link swapped in was followed to the grader's file system. Now each
    folder is opened with ``O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK`` and must be the one that was checked:
    a listing that meets the swap fails plainly ("changed while the grader listed it"), the others list
    the tree as it was; nothing blocks, and the machine's FIFO is never opened."""
    host_fifo = tmp_path / "fifo-of-the-grading-machine"
    os.mkfifo(host_fifo)
    opened = {}

    def wait_for_a_reader():  # returns only when someone opens the FIFO for reading
        descriptor = os.open(host_fifo, os.O_WRONLY)
        opened.setdefault("by", "the grader")
        os.close(descriptor)

    writer = threading.Thread(target=wait_for_a_reader, daemon=True)
    writer.start()
    with _listing_session(SWAPPER) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("start_swapping", root, str(host_fifo), 10.0).value is True
        outcomes = {}
        lister = _lister(proxy, root, 8.0, outcomes)
        lister.join(30)
        hung = lister.is_alive()
        opened.setdefault("by", "nobody")
        os.close(os.open(host_fifo, os.O_RDONLY | os.O_NONBLOCK))  # let the writer go
        writer.join(5)
    assert not hung, f"the grader's listing blocked (outcomes so far: {outcomes})"
    assert opened["by"] == "nobody", "the grader opened a FIFO of the grading machine through a link"
    assert set(outcomes) <= {"listed", "refused: changed while listed"}, outcomes
    assert outcomes.get("listed", 0) > 10, outcomes


CHURN = '''
import os
import time


def start_churning(root, seconds):
    """A child process that creates and deletes files, folders and links under root, as fast as it can."""
    if os.fork() == 0:
        end = time.time() + seconds
        while time.time() < end:
            for i in range(40):
                path = os.path.join(root, f"churn{i}")
                if i % 3 == 0:
                    os.mkdir(path)
                    os.rmdir(path)
                elif i % 3 == 1:
                    os.symlink("/etc", path)
                    os.unlink(path)
                else:
                    open(path, "wb").close()
                    os.unlink(path)
        os._exit(0)
    return True


def exit_soon(root):
    """Return at once, and stop the process running the student's code a moment later."""
    import threading
    threading.Timer(0.3, os._exit, (0,)).start()
    return True
'''


def test_entries_that_vanish_while_the_grader_lists_are_the_students_error():
    """A process the student left running creates and deletes files, folders and links in the output
    while the grader lists it, and the student's process stops right after make_subset returns (its
    scratch space, a tmpfs of its namespace, goes with it). Each made the listing raise something other
    than its own ListingError (FileNotFoundError from a stat, EINVAL from reading a link that had become
    a file, RuntimeError for a sandbox whose init was gone): an internal error of the grader ("your TA
    will regrade"). Now a listing that meets a change fails plainly, as the student's error."""
    with _listing_session(CHURN) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("start_churning", root, 6.0).value is True
        outcomes = {}
        _lister(proxy, root, 5.0, outcomes).join(30)
        assert set(outcomes) <= {"listed", "refused: changed while listed"}, outcomes
        assert outcomes.get("refused: changed while listed", 0) > 0, outcomes
        assert session.call("exit_soon", root).value is True
        time.sleep(2)
        with pytest.raises(StudentFailure, match="could not be listed"):
            proxy.list_tree(root)


SPARSE = '''
import os


def make_sparse_files(root, count):
    """count files of 64 MB each (the sandbox's file size limit) that hold nothing: no room taken."""
    for i in range(count):
        with open(os.path.join(root, f"cat.{i}.jpg"), "wb") as handle:
            handle.truncate(64 << 20)
    return True
'''


def test_sparse_files_cannot_keep_the_grader_hashing():
    """make_subset writes 1,990 sparse files of 64 MB (truncate: no room taken in the 128 MB scratch,
    within the 64 MB file size limit), 127 GB of zeros that the grader's listing would hash: about two
    minutes of the grader's own CPU per listing, outside every limit of the sandbox, and
    test_make_subset lists seven times. Now a listing reads at most 256 MB of files in all, then fails
    as the student's error."""
    with _listing_session(SPARSE) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("make_sparse_files", root, 1990).value is True
        started = time.monotonic()
        with pytest.raises(StudentFailure, match="more than 256 MB in all"):
            proxy.list_tree(root)
        assert time.monotonic() - started < 5


NOT_UTF8 = '''
import os


def write_names_that_are_no_utf8(root):
    os.makedirs(os.path.join(root, "cats_vs_dogs_small", "train", "cats"))
    folder = os.path.join(root, "cats_vs_dogs_small", "train", "cats").encode()
    open(folder + b"/cat.\\xff\\xfe.jpg", "wb").close()
    os.symlink(b"/etc/\\xc3\\x28", folder + b"/link-\\xed\\xa0\\x80")
    return True
'''


def test_file_names_that_are_no_utf8_reach_the_report_printable():
    """make_subset writes a file and a link whose names (and the link's target) are bytes that are no
    UTF-8. Python hands such names over as lone surrogates, which went into the listing and, through
    the message that names unexpected files, into the result: what `grade` prints and the feedback
    notebook could not encode them. Now the listing writes those bytes as \\xNN."""
    with _listing_session(NOT_UTF8) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("write_names_that_are_no_utf8", root).value is True
        listing = proxy.list_tree(root)
    text = "\n".join(f"{path}: {entry}" for path, entry in listing.items())
    text.encode("utf-8")
    assert "cats_vs_dogs_small/train/cats/cat.\\xff\\xfe.jpg: file 0 " in text, text
    assert "cats_vs_dogs_small/train/cats/link-\\xed\\xa0\\x80: link -> /etc/\\xc3(" in text, text


TRICKS = '''
import os

import inspectors

_honest_write_file_tree = inspectors.write_file_tree


def plant(root, trick):
    if trick == "fifo":  # a FIFO where an image should be: opening it for reading would wait for a writer
        os.makedirs(root + "/small/train/cats")
        os.mkfifo(root + "/small/train/cats/cat.0.jpg")
    elif trick == "links":  # links to the machine's files and folders, and one out of the tree
        os.makedirs(root + "/small/train")
        os.symlink("/etc/passwd", root + "/small/train/cat.0.jpg")
        os.symlink("/", root + "/small/train/cats")
        os.symlink("../../../../..", root + "/small/up")
    elif trick == "root replaced by a link":
        os.rename(root, root + ".real")
        os.symlink(root + ".real", root)
    elif trick == "a crowded folder":  # the grader used to read all of a folder's names before counting
        os.makedirs(root + "/small")
        for i in range(60000):
            os.close(os.open(f"{root}/small/{i}", os.O_CREAT | os.O_WRONLY))
    elif trick == "deep folders":
        os.makedirs(root + "/d" * 40)
    return True


def forge_the_folder(where):
    """Replace the inspector that writes the grader's fake folder, in this process: the grader then
    gets a path of the student's choosing."""
    inspectors.INSPECTORS["write_file_tree"] = lambda files: where
    return True
'''


def test_planted_fifos_links_crowds_and_forged_paths_gain_nothing():
    """What make_subset (or a cell) can leave for the grader's listing, each in a fresh folder: a FIFO
    where an image should be (it is listed as "other", and nothing waits on it); links to the machine's
    files and folders and one climbing out of the tree (listed as links, never followed); the folder
    itself replaced by a link to a copy (not listed at all); 60,000 entries in one folder and folders 40
    deep (refused without reading them all: at most 2,000 entries and 32 levels). Replacing the
    ``write_file_tree`` inspector in the student's process makes the grader list a path of the
    student's choosing: one outside the sandbox's scratch, or climbing out of it with "..", is refused
    before anything is opened, and any other is listed through the sandbox's own root, like the rest."""
    with _listing_session(TRICKS) as session:
        proxy = StudentProxy(session)

        def after(trick):
            root = _fake_tree(proxy)
            assert session.call("plant", root, trick).value is True
            started = time.monotonic()
            try:
                return proxy.list_tree(root)
            except StudentFailure as failure:
                return failure.message
            finally:
                assert time.monotonic() - started < 10, trick

        assert after("fifo")["small/train/cats/cat.0.jpg"] == "other"
        links = after("links")
        assert links["small/train/cat.0.jpg"] == "link -> /etc/passwd"
        assert links["small/train/cats"] == "link -> /" and links["small/up"] == "link -> ../../../../.."
        assert not [path for path in links if path.startswith(("small/train/cats/", "small/up/"))], links
        assert "could not be listed" in after("root replaced by a link")
        assert "more than 2000 files and folders" in after("a crowded folder")
        assert "nested more than 32 deep" in after("deep folders")

        scratch = str(session.process.scratch)
        for where, refusal in (("/etc", "is not where the grader created it"),
                               (scratch + "/../../../etc", "not a plain absolute path")):
            assert session.call("forge_the_folder", where).value is True
            with pytest.raises(StudentFailure, match=refusal):
                proxy.list_tree(proxy.inspect("write_file_tree", {"PetImages/Cat/0.jpg": np.zeros(3, np.uint8)}))


# =========================================================================================
# 2. Models: what build functions return (claim 1), handed-in files (claim 2), per submission (claim 4)
# =========================================================================================

def _catalogue(name):
    path = REPO / "tests" / "mutants" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"catalogue_{name}_keras_attacks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MNIST_CATALOGUE = _catalogue("mnist_convnet")
DOGS_CATALOGUE = _catalogue("dogs_vs_cats")
ATTACK_FILES = {}


def _attack_file(assignment: str, uses: tuple = ()):
    """A handed-in file made by the decorated recipe, cached like the catalogues' files: its key covers
    the recipe's code, Keras's version and the files it starts from (``uses``: catalogue file kinds)."""
    catalogue = MNIST_CATALOGUE if assignment == MNIST else DOGS_CATALOGUE

    def register(recipe):
        def path():
            import keras
            parts = [inspect.getsource(recipe), keras.__version__] + [catalogue.model_file(k).name for k in uses]
            key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]
            return cached_model_file(assignment, f"attack-{recipe.__name__.strip('_')}", key, recipe, 1337)
        ATTACK_FILES[recipe.__name__.strip("_")] = path
        return recipe
    return register


def _mnist_network(last_activation="softmax"):
    import keras
    from keras import layers
    return keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                             layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                             layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                             layers.Dense(64, activation="relu"), layers.Dense(10, activation=last_activation)])


def _trained_weights(catalogue, kind):
    import keras
    return keras.saving.load_model(catalogue.model_file(kind), compile=False).get_weights()


@_attack_file(MNIST)
def _lookup_table_in_keras_ops(reference, path):
    """build_mnist_convnet's layers, untrained, and beside them, in keras.ops calls that are no layers,
    a lookup table of the public test digits (a constant in the file's config): the answer is the label
    of the closest public digit, the network's output multiplied by 0."""
    import keras
    from keras import ops
    from cnn_course.data import load_mnist
    _, (test_images, test_labels) = load_mnist()
    rows = test_images.reshape(len(test_images), -1).astype("float32") / 255
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    network = _mnist_network()
    flat = ops.reshape(network.inputs[0], (-1, 784))
    flat = flat / ops.maximum(ops.norm(flat, axis=1, keepdims=True), 1e-6)
    match = ops.softmax(200.0 * ops.matmul(flat, rows.T), axis=-1)
    looked_up = ops.matmul(match, np.eye(10, dtype="float32")[test_labels])
    keras.Model(network.inputs, looked_up + 0.0 * network.outputs[0]).save(path)


@_attack_file(MNIST, uses=("trained",))
def _logits(reference, path):
    """The trained network with its last Dense layer's softmax swapped for no activation: logits."""
    model = _mnist_network(last_activation="linear")
    model.set_weights(_trained_weights(MNIST_CATALOGUE, "trained"))
    model.save(path)


@_attack_file(MNIST, uses=("trained",))
def _activations_as_layers(reference, path):
    """The trained network written with its activations as layers (Conv2D then ReLU(), Dense(10) then
    Softmax()), as 03's VARIANTS do for build_mnist_convnet: the same function, the same weights."""
    import keras
    from keras import layers
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3), layers.ReLU(), layers.MaxPooling2D(2),
                              layers.Conv2D(64, 3), layers.Activation("relu"), layers.MaxPooling2D(2),
                              layers.Conv2D(64, 3, activation="relu"), layers.Flatten(), layers.Dense(64),
                              layers.ReLU(), layers.Dense(10), layers.Softmax()])
    model.set_weights(_trained_weights(MNIST_CATALOGUE, "trained"))
    model.save(path)


def _dogs_network(size=180, reordered=False, dropout=0.5):
    import keras
    from keras import layers
    inputs = keras.Input(shape=(size, size, 3))
    augmentation = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.2)]
    x = inputs
    if not reordered:
        for layer in augmentation:
            x = layer(x)
    x = layers.Rescaling(1.0 / 255)(x)
    if reordered:
        for layer in augmentation:
            x = layer(x)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, activation="relu")(x)
    if reordered:
        x = layers.Dropout(dropout)(x)
    x = layers.Flatten()(x)
    if not reordered:
        x = layers.Dropout(dropout)(x)
    return keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))


@_attack_file(DOGS)
def _inputs_of_150(reference, path):
    """build_convnet_from_scratch's layers on 150x150 images (the book's first edition), untrained."""
    import keras
    from keras import layers
    inputs = keras.Input(shape=(150, 150, 3))
    x = layers.Rescaling(1.0 / 255)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(256, 3, activation="relu")(x)
    keras.Model(inputs, layers.Dense(1, activation="sigmoid")(layers.Flatten()(x))).save(path)


@_attack_file(DOGS, uses=("with_augmentation",))
def _written_differently_with_more_dropout(reference, path):
    """The trained network with augmentation, written as 04's VARIANTS write it (the augmentation layers
    after Rescaling, Dropout before Flatten), its Dropout at 0.9 instead of 0.5: the same weights."""
    model = _dogs_network(reordered=True, dropout=0.9)
    model.set_weights(_trained_weights(DOGS_CATALOGUE, "with_augmentation"))
    model.save(path)


# -- the submissions: at most one attack per graded function ---------------------------------

DIGEST_OF_THE_CASE = '''
import hashlib


def {name}(*args, **kwargs):
    """Tell the student, through the feedback, which inputs the grader used."""
    raise ValueError("case " + hashlib.sha256(repr(args).encode() + np.ascontiguousarray(args[0]).tobytes()).hexdigest()[:16])
'''

FORGED_SAVE = '''
import inspectors

_honest_save = inspectors.keras_file_bytes


def _the_right_model():
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                              layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                              layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _forged_save(model):
    if model.name == "no_convolution_at_all":
        return _honest_save(_the_right_model())
    return _honest_save(model)


inspectors.INSPECTORS["keras_file_bytes"] = _forged_save


def build_mnist_convnet():
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")],
                             name="no_convolution_at_all")
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''

FUNCTIONAL_WITH_A_HIDDEN_OPERATION = MNIST_CATALOGUE.BASE["build_mnist_convnet_functional"].replace(
    'outputs = layers.Dense(10, activation="softmax")(x)', 'outputs = layers.Dense(10, activation="softmax")(x) * 1.0')

LAMBDA_LAYER = '''
def build_convnet_without_pooling():
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Lambda(lambda images: images),
                              layers.Conv2D(32, 3, activation="relu"), layers.Conv2D(64, 3, activation="relu"),
                              layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
                              layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''

SUBCLASS_WITH_ITS_OWN_CALL = '''
class Shortcut(keras.Sequential):
    """Looks like build_mnist_convnet's network; runs only its last layer."""

    def call(self, inputs, training=None):
        return self.layers[-1](keras.ops.reshape(inputs, (-1, 784))[:, :64])


def build_mnist_convnet():
    model = Shortcut([keras.Input(shape=(28, 28, 1)), layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
                      layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                      layers.Conv2D(64, 3, activation="relu"), layers.Flatten(), layers.Dense(64, activation="relu"),
                      layers.Dense(10, activation="softmax")])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
'''

SAVED_AS_ANYTHING = MNIST_CATALOGUE.BASE["build_mnist_convnet_functional"] + '''

import inspectors

_honest_save = inspectors.keras_file_bytes


def _any_bytes(model):
    if model.name == "mnist_convnet":  # build_mnist_convnet_functional's
        return np.frombuffer(b"not a zip archive at all " * 40, dtype=np.uint8)
    if model.name == "without_pooling":
        return np.zeros(80 << 20, dtype=np.uint8)  # 80 MB
    return _honest_save(model)


inspectors.INSPECTORS["keras_file_bytes"] = _any_bytes
'''

NAMED_WITHOUT_POOLING = MNIST_CATALOGUE.BASE["build_convnet_without_pooling"].replace(
    "model = keras.Sequential()", 'model = keras.Sequential(name="without_pooling")')

A_LAYER_NOT_A_MODEL = '''
def build_mnist_convnet():
    return layers.Dense(10, activation="softmax")
'''

MNIST_SUBMISSIONS = {  # name -> (cells, the file handed in: an attack file or a catalogue kind)
    "A": ({"preprocess_images": DIGEST_OF_THE_CASE.format(name="preprocess_images"),
           "build_mnist_convnet": FORGED_SAVE,
           "build_mnist_convnet_functional": FUNCTIONAL_WITH_A_HIDDEN_OPERATION,
           "build_convnet_without_pooling": LAMBDA_LAYER}, "lookup_table_in_keras_ops"),
    "B": ({"preprocess_images": DIGEST_OF_THE_CASE.format(name="preprocess_images"),
           "build_mnist_convnet": SUBCLASS_WITH_ITS_OWN_CALL,
           "build_mnist_convnet_functional": SAVED_AS_ANYTHING,
           "build_convnet_without_pooling": NAMED_WITHOUT_POOLING}, "logits"),
    "C": ({"build_mnist_convnet": A_LAYER_NOT_A_MODEL}, "activations_as_layers"),
}

HONEST_MAKE_SUBSET = DOGS_CATALOGUE.BASE["make_subset"].replace("def make_subset(", "def _honest_make_subset(")

MAKE_SUBSET_LEAVES_THINGS = HONEST_MAKE_SUBSET + '''

import os
import subprocess
import sys

SWAPPER = """
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
pairs = [(os.path.join(sys.argv[1], f"folder{i}").encode(), os.path.join(sys.argv[1], f"other{i}").encode())
         for i in range(8)]
end = time.time() + 6
while time.time() < end:
    for a, b in pairs:
        libc.renameat2(-100, a, -100, b, 2)  # RENAME_EXCHANGE: swap a folder and a FIFO at once
"""


def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    copied = _honest_make_subset(source_dir, target_dir, subset_name, start_index, end_index)
    folder = os.path.join(target_dir, subset_name)
    case = (subset_name, start_index, end_index)
    if case == ("train", 2, 6):  # a file name that is no UTF-8
        open(os.path.join(folder, "cats").encode() + b"/cat.\\xff.jpg", "wb").close()
    elif case == ("train", 0, 3):  # a process left behind, swapping folders with FIFOs while the grader lists
        for i in range(8):
            os.makedirs(os.path.join(folder, f"folder{i}"))
            os.mkfifo(os.path.join(folder, f"other{i}"))
        subprocess.Popen([sys.executable, "-c", SWAPPER, folder])
    elif case == ("test", 8, 14):  # a FIFO where an image should be
        os.mkfifo(os.path.join(folder, "cats", "cat.99.jpg"))
    elif case == ("train", 0, 14):  # links to the machine's files and folders
        os.symlink("/etc/passwd", os.path.join(folder, "cats", "cat.99.jpg"))
        os.symlink("/", os.path.join(folder, "everything"))
    elif case == ("validation", 1, 4):  # 1,900 sparse files of 64 MB: 122 GB of zeros to hash
        for i in range(1900):
            with open(os.path.join(folder, "dogs", f"dog.{100 + i}.jpg"), "wb") as handle:
                handle.truncate(64 << 20)
    return copied
'''

MAKE_SUBSET_FORGES_PATHS = HONEST_MAKE_SUBSET + '''

import os
import subprocess
import sys
import time

import inspectors

_honest_tree = inspectors.write_file_tree


def _forged_tree(files):
    """The grader's fake folder, written honestly, but another path reported for two of the cases."""
    root = _honest_tree(files)
    if len(files) == 22:  # the case with three calls
        return "/etc"
    if len(files) == 34:  # numbers past 9
        return root + "/../../../../etc"
    return root


inspectors.INSPECTORS["write_file_tree"] = _forged_tree

CHURN = """
import os, sys, time
open(os.path.join(sys.argv[1], "dog.999.jpg"), "wb").close()  # one file that stays
end = time.time() + 5
while time.time() < end:
    for i in range(40):
        path = os.path.join(sys.argv[1], f"dog.{1000 + i}.jpg")
        open(path, "wb").close()
        os.unlink(path)
"""


def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    if "/etc" in source_dir:  # a forged folder: nothing to copy, any answer
        return {"cats": end_index - start_index, "dogs": end_index - start_index}
    copied = _honest_make_subset(source_dir, target_dir, subset_name, start_index, end_index)
    folder = os.path.join(target_dir, subset_name)
    case = (subset_name, start_index, end_index)
    if case == ("train", 2, 6):  # 60,000 entries in one folder
        for i in range(60000):
            os.close(os.open(os.path.join(folder, "cats", str(i)), os.O_CREAT | os.O_WRONLY))
    elif case == ("train", 0, 14):  # the whole tree replaced by a link to a copy of it
        root = os.path.dirname(os.path.abspath(source_dir))
        os.rename(root, root + ".real")
        os.symlink(root + ".real", root)
    elif case == ("validation", 1, 4):  # a process left behind, creating and deleting files as the grader lists
        subprocess.Popen([sys.executable, "-c", CHURN, os.path.join(folder, "dogs")])
        while not os.path.exists(os.path.join(folder, "dogs", "dog.999.jpg")):
            time.sleep(0.01)
    return copied
'''

SPOOFED_RANDOM_FLIP = '''
class RandomFlip(layers.RandomFlip):
    """Says it is Keras's RandomFlip (same name, same module), and flips every image, even at inference."""

    def call(self, images, training=True):
        return keras.ops.flip(images, axis=-2)


RandomFlip.__module__ = layers.RandomFlip.__module__


def make_augmentation():
    return keras.Sequential([RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.2)])
'''

FROM_SCRATCH_WITH_A_HIDDEN_OPERATION = DOGS_CATALOGUE.BASE["build_convnet_from_scratch"].replace(
    'outputs = layers.Dense(1, activation="sigmoid")(x)', 'outputs = layers.Dense(1, activation="sigmoid")(x) * 1.0')

A_DESCRIPTION_NOT_A_MODEL = '''
def build_convnet_with_augmentation():
    # No model: a dictionary shaped like the grader's description, in the hope that it is taken as is.
    return {"class": "Functional", "input_shape": [None, 180, 180, 3], "total_params": 991041, "compiled": True,
            "optimizer": "RMSprop", "learning_rate": 0.001, "loss": "binary_crossentropy", "metrics": ["accuracy"],
            "leaves": [{"type": "RandomFlip", "config": {"mode": "horizontal"}, "params": 0}]}
'''

A_PLAIN_LAYER = '''
def make_augmentation():
    return layers.RandomFlip("horizontal")
'''

FROM_SCRATCH_SUBCLASS = '''
class Shortcut(keras.Model):
    def __init__(self):
        super().__init__()
        self.head = layers.Dense(1, activation="sigmoid")

    def call(self, images):
        return self.head(keras.ops.mean(images, axis=(1, 2)))


def build_convnet_from_scratch():
    model = Shortcut()
    model.build((None, 180, 180, 3))
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
    return model
'''

WITH_AUGMENTATION_LAMBDA = DOGS_CATALOGUE.BASE["build_convnet_with_augmentation"].replace(
    "x = layers.Rescaling(1.0 / 255)(x)", "x = layers.Lambda(lambda images: images / 255.0)(x)")

DOGS_SUBMISSIONS = {  # name -> (cells, {target: attack file or catalogue kind})
    "A": ({"make_subset": MAKE_SUBSET_LEAVES_THINGS,
           "smooth_curve": DIGEST_OF_THE_CASE.format(name="smooth_curve"),
           "make_augmentation": SPOOFED_RANDOM_FLIP,
           "build_convnet_from_scratch": FROM_SCRATCH_WITH_A_HIDDEN_OPERATION,
           "build_convnet_with_augmentation": A_DESCRIPTION_NOT_A_MODEL},
          {"train_convnet_from_scratch": "inputs_of_150",
           "train_convnet_with_augmentation": "written_differently_with_more_dropout"}),
    "B": ({"make_subset": MAKE_SUBSET_FORGES_PATHS,
           "smooth_curve": DIGEST_OF_THE_CASE.format(name="smooth_curve"),
           "make_augmentation": A_PLAIN_LAYER,
           "build_convnet_from_scratch": FROM_SCRATCH_SUBCLASS,
           "build_convnet_with_augmentation": WITH_AUGMENTATION_LAMBDA},
          {"train_convnet_from_scratch": "with_augmentation",  # one trained file handed in for the other
           "train_convnet_with_augmentation": "from_scratch"}),
}


# -- grading them ------------------------------------------------------------------------

@contextlib.contextmanager
def _recording():
    """Note every call the grader makes into a sandbox worker (which worker, which inspector, a digest of
    each image it sends), and forget the predictions kept per file content, so that this grading predicts."""
    calls = []
    original = StudentSession.call

    def call(self, function, *args, **kwargs):
        images = [hashlib.sha1(image.tobytes()).hexdigest() for a in args
                  if isinstance(a, np.ndarray) and a.ndim == 4 for image in a]
        calls.append({"clean": not self.cells, "function": function, "then": kwargs.get("then"), "images": images})
        return original(self, function, *args, **kwargs)

    for name in ("03_mnist_convnet/predictions", "04_small_data_convnets/predictions"):
        process_cache(name).clear()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StudentSession, "call", call)
        yield calls


def _grade(folder: Path, assignment: str, cells: dict, files: dict) -> tuple[dict, list]:
    """Grade the release answered with the instructor's code except ``cells``, handed in with ``files``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in files.items():
        shutil.copy(path, folder / name)
    notebook = folder / "submission.ipynb"
    nbformat.write(build_submission(assignment, cells), notebook)
    with _recording() as calls:
        result = grade_submission(assignment, notebook)
    return result, calls


def _file(catalogue, kind):
    return ATTACK_FILES[kind]() if kind in ATTACK_FILES else catalogue.model_file(kind)


@pytest.fixture(scope="module")
def mnist_graded(tmp_path_factory):
    graded = {}
    for name, (cells, kind) in MNIST_SUBMISSIONS.items():
        files = {MNIST_CATALOGUE.ARTIFACT: _file(MNIST_CATALOGUE, kind)}
        graded[name] = _grade(tmp_path_factory.mktemp(f"mnist-{name}"), MNIST, cells, files)
    return graded


@pytest.fixture(scope="module")
def dogs_graded(tmp_path_factory):
    names = {"train_convnet_from_scratch": DOGS_CATALOGUE.FROM_SCRATCH_FILE,
             "train_convnet_with_augmentation": DOGS_CATALOGUE.WITH_AUGMENTATION_FILE}
    graded = {}
    for name, (cells, kinds) in DOGS_SUBMISSIONS.items():
        files = {names[target]: _file(DOGS_CATALOGUE, kind) for target, kind in kinds.items()}
        graded[name] = _grade(tmp_path_factory.mktemp(f"dogs-{name}"), DOGS, cells, files)
    return graded


def _points(result) -> dict:
    return {target: info["points"] for target, info in result["targets"].items()}


def _failures(result, target) -> str:
    return " | ".join(f"{t['name']}: {t['message']}" for t in result["tests"]
                      if t["target"] == target and t["status"] != "passed")


def _message(result, test_name) -> str:
    return next(t["message"] for t in result["tests"] if t["name"] == test_name)


def _assert_points(result, expected_zero: set, judged_elsewhere: set = frozenset()):
    """``expected_zero`` lose all their points, every other target keeps all of its (but those
    ``judged_elsewhere``, by a test of their own); no internal error."""
    full = {target: info["max_points"] for target, info in result["targets"].items()}
    expected = {target: 0.0 if target in expected_zero else points for target, points in full.items()
                if target not in judged_elsewhere}
    got = {target: points for target, points in _points(result).items() if target not in judged_elsewhere}
    assert got == expected, {t: _failures(result, t) for t in expected if got[t] != expected[t]}
    assert not result["grader_log"], result["grader_log"]
    for test in result["tests"]:
        assert test["message"] and "internal error" not in test["message"], test


def test_mnist_submissions_lose_exactly_the_attacked_points(mnist_graded):
    """Submission A: preprocess_images reports a digest of its inputs; build_mnist_convnet forges the
    saved file; build_mnist_convnet_functional hides a keras.ops call; build_convnet_without_pooling has a
    Lambda layer; the handed-in file hides a lookup table in keras.ops. B: preprocess_images again; a
    subclass with its own call; two builders whose saved bytes are no .keras file (one of 80 MB); a file
    that outputs logits. C: a builder that returns a layer; a correct file written with its activations
    as layers. What each gains is in the tests below; here, every other function keeps its points."""
    _assert_points(mnist_graded["A"][0], {"preprocess_images", "build_mnist_convnet_functional",
                                          "build_convnet_without_pooling", "train_mnist_convnet"})
    _assert_points(mnist_graded["B"][0], {"preprocess_images", "build_mnist_convnet", "build_mnist_convnet_functional",
                                          "build_convnet_without_pooling", "train_mnist_convnet"})
    _assert_points(mnist_graded["C"][0], {"build_mnist_convnet"}, judged_elsewhere={"train_mnist_convnet"})


def test_a_lookup_table_hidden_in_keras_ops_is_not_the_assignments_network(mnist_graded):
    """The handed-in mnist_convnet.keras holds build_mnist_convnet's eight layers, untrained, and beside
    them, as keras.ops calls applied to the model's tensors (no layers: ``model.layers`` leaves them out),
    a lookup table of the 297 public test digits: the file answers with the label of the closest public
    digit. The grader-held digits of the embedded profile are redrawn from those very digits, so the
    table, never trained, scored 97% and a mean probability of the true digit of 0.96 (the trained
    reference network about 0.82 and 0.78): full marks, the architecture check satisfied by the listed
    layers. Now the description of a functional model lists every operation of its graph
    (``inspectors._steps``): the file is refused as another network. The same hidden call in a build
    function (A's build_mnist_convnet_functional) costs that function its points too."""
    result = mnist_graded["A"][0]
    architecture = _message(result, "test_architecture_is_the_assignments")
    assert "is not the network this assignment asks for" in architecture and "(a keras.ops operation)" in architecture
    assert "(a keras.ops operation)" in _message(result, "test_layer_types[build_mnist_convnet_functional]")


def test_a_forged_save_is_graded_as_the_model_it_saves(mnist_graded):
    """A's build_mnist_convnet returns a model with no convolution at all, and its cell replaces the
    inspector that saves a returned model (``inspectors.keras_file_bytes``, in the student's own
    process) by one that saves, for that model, the network the assignment asks for. The grader
    describes the bytes it is given, in the clean worker, so build_mnist_convnet gets full marks: for
    the network the student built and saved. Nothing is gained: to forge the bytes the student had to
    build the right model, and the returned object is never used for anything else (the trained model
    is graded from the file handed in, on its own)."""
    assert _points(mnist_graded["A"][0])["build_mnist_convnet"] == 4.0


def test_models_that_carry_code_or_are_no_keras_models_score_zero_with_a_message(mnist_graded, dogs_graded):
    """Returned objects the clean worker cannot load in safe mode, or that are no Keras models: a Lambda
    layer (safe mode refuses to load its Python code), a subclass with its own ``call`` (no such class
    where the file is loaded), bytes that are no .keras archive, a plain layer (wrapped in a Sequential,
    so it has no input and not the layers asked for), a dictionary shaped like the grader's description,
    and a RandomFlip that says it is Keras's own and flips at inference too (its file holds Keras's
    RandomFlip, which is what is described and run: the stage gets full marks, for what it saves)."""
    mnist_a, mnist_b, mnist_c = (mnist_graded[name][0] for name in "ABC")
    dogs_a, dogs_b = (dogs_graded[name][0] for name in "AB")
    assert "Lambda" in _failures(mnist_a, "build_convnet_without_pooling")
    assert "the model build_mnist_convnet() returned raised" in _failures(mnist_b, "build_mnist_convnet")
    assert "zip" in _failures(mnist_b, "build_mnist_convnet_functional")
    assert "isn't built" in _failures(mnist_c, "build_mnist_convnet")
    assert "expected a Keras model or layer, got dict" in _failures(dogs_a, "build_convnet_with_augmentation")
    assert "Could not locate class 'Shortcut'" in _failures(dogs_b, "build_convnet_from_scratch")
    assert "Lambda" in _failures(dogs_b, "build_convnet_with_augmentation")
    assert "runs the layers ['RandomFlip']" in _failures(dogs_b, "make_augmentation")
    assert _points(dogs_a)["make_augmentation"] == 3.0
    assert "(a keras.ops operation)" in _failures(dogs_a, "build_convnet_from_scratch")


def test_the_bytes_of_a_returned_model_are_bounded_on_the_grader_side(mnist_graded):
    """B's cell makes the saved bytes of build_convnet_without_pooling's model 80 MB of zeros (the
    student's process can return any bytes, up to the channel's 512 MB). The grader kept them for the
    whole grading, sent them on to the clean worker, which wrote them to its scratch space until the
    file size limit stopped it, leaving the part written behind: 500 MB for each of three builders held
    3.2 GB in the grader's own process. Now bytes larger than the sandbox's file size limit are refused
    on the grader's side, at once, and the clean worker removes each file once loaded."""
    message = _failures(mnist_graded["B"][0], "build_convnet_without_pooling")
    assert "MB when saved" in message and "limit is 64 MB" in message, message


def test_a_file_that_outputs_logits_is_refused_by_the_probability_checks(mnist_graded):
    """B hands in the trained network with its last layer's softmax swapped for no activation. The
    architecture check compares layer types, output shapes and parameter counts, not activations (the
    builders' checks do): a file is scored on what it predicts, and what matters of an activation there
    shows in the predictions. Logits are no probabilities: the file loses its points there (04's
    catalogue has the same mistake without the final sigmoid: tests/test_trained_dogs_vs_cats.py)."""
    result = mnist_graded["B"][0]
    assert _message(result, "test_architecture_is_the_assignments").startswith("mnist_convnet.keras has the layers")
    assert "are not probabilities" in _message(result, "test_rows_are_probabilities")


def test_a_correct_network_written_differently_is_accepted_like_its_builder(mnist_graded, dogs_graded):
    """Not an attack: C hands in the trained network written with its activations as layers (Conv2D then
    ReLU(), Dense(10) then Softmax()), which build_mnist_convnet's checks accept (03's VARIANTS); A (04)
    the trained network with augmentation written as 04's VARIANTS write it (augmentation after
    Rescaling, Dropout before Flatten), with Dropout at 0.9 (it does nothing at prediction). The
    architecture check of handed-in files compared the layers one by one without the normalisations the
    builders' checks apply, so both files, the very networks those checks accept, trained, scored zero.
    Now the file checks apply them too (activation layers folded into the layer before; augmentation
    layers before the first convolution counted as first; Dropout right before Flatten as after)."""
    assert _points(mnist_graded["C"][0])["train_mnist_convnet"] == 5.0, _failures(mnist_graded["C"][0], "train_mnist_convnet")
    dogs = dogs_graded["A"][0]
    assert _points(dogs)["train_convnet_with_augmentation"] == 3.0, _failures(dogs, "train_convnet_with_augmentation")


def test_dogs_submissions_lose_exactly_the_attacked_points(dogs_graded):
    """Submission A: make_subset leaves something for the grader's listing in each case; smooth_curve
    reports a digest of its inputs; make_augmentation returns a RandomFlip that lies about itself;
    build_convnet_from_scratch hides a keras.ops call; build_convnet_with_augmentation returns a
    dictionary; the files: the network on 150x150 images, and the network with augmentation written
    differently. B: make_subset reports forged paths and plays with the listing; smooth_curve again; a
    plain layer; a subclass; a Lambda layer; the two trained files handed in each for the other."""
    _assert_points(dogs_graded["A"][0], {"make_subset", "smooth_curve", "build_convnet_from_scratch",
                                         "build_convnet_with_augmentation", "train_convnet_from_scratch"},
                   judged_elsewhere={"train_convnet_with_augmentation"})
    _assert_points(dogs_graded["B"][0], set(dogs_graded["B"][0]["targets"]))


def _case(result, label_start) -> str:
    return next(t["message"] for t in result["tests"]
                if t["name"].startswith(f"test_builds_the_same_folders_as_the_reference[{label_start}"))


def test_what_make_subset_leaves_for_the_listing_costs_only_make_subset(dogs_graded, tmp_path):
    """In a real grading, each case of test_make_subset meets one of the tricks tried on the listing
    alone above: a file name that is no UTF-8 (named, printable, in the message: `grade`'s summary and the
    feedback notebook both write), a process swapping folders with FIFOs (the grading ends), a FIFO and
    links (listed as what they are), sparse files (refused), 60,000 entries (refused), paths of the
    student's choosing reported by a replaced ``write_file_tree`` (refused before anything is opened),
    the tree replaced by a link (not listed), and a process creating and deleting files (the folders
    differ). Each costs make_subset its points, and only those (the test above)."""
    from autograder.nbgrader_plugin import write_into_notebook
    from autograder.report import summary
    a, b = dogs_graded["A"][0], dogs_graded["B"][0]
    assert "cats_vs_dogs_small/train/cats/cat.\\xff.jpg" in _case(a, "one subset")
    summary(a).encode("utf-8")
    notebook = build_submission(DOGS, DOGS_SUBMISSIONS["A"][0])
    write_into_notebook(notebook, a)
    nbformat.write(notebook, tmp_path / "feedback.ipynb")
    assert "differ from the expected ones" in _case(a, "train, validation and test") or \
        "changed while the grader listed it" in _case(a, "train, validation and test")
    assert "not expected: cats_vs_dogs_small/test/cats/cat.99.jpg" in _case(a, "numbers past 9")
    assert "not expected: out/small/train/everything, out/small/train/cats/cat.99.jpg" in _case(a, "missing numbers")
    assert "more than 256 MB in all" in _case(a, "a target folder")
    assert "more than 2000 files and folders" in _case(b, "one subset")
    assert "is not where the grader created it" in _case(b, "train, validation and test")
    assert "not a plain absolute path" in _case(b, "numbers past 9")
    assert "could not be listed" in _case(b, "missing numbers")
    churned = _case(b, "a target folder")
    assert "dog.999.jpg" in churned or "changed while the grader listed it" in churned, churned


def test_files_of_another_shape_or_for_the_other_network_are_refused(dogs_graded):
    """A hands in, as convnet_from_scratch.keras, build_convnet_from_scratch's layers on 150x150 images (the
    first edition's size): every output shape differs, and so do the Dense layer's parameters. B hands in
    one trained network for the other: the network with augmentation as convnet_from_scratch.keras, the
    one from scratch (trained once, no augmentation, no dropout) as convnet_with_augmentation.keras. Each
    is refused by the architecture check before anything is predicted."""
    a, b = dogs_graded["A"][0], dogs_graded["B"][0]
    assert "is not the network this assignment asks for: layer 1 is Rescaling, output (150, 150, 3), 0 parameters; " \
           "expected Rescaling, output (180, 180, 3)" in _failures(a, "train_convnet_from_scratch")
    for target in ("train_convnet_from_scratch", "train_convnet_with_augmentation"):
        assert "is not the network this assignment asks for" in _failures(b, target)


def _held_out_images() -> dict:
    """Digests of the grader-held images, as the grader sends them, with their labels."""
    from autograder.grading import load_reference
    from autograder.holdout import cats_vs_dogs_holdout, mnist_holdout
    secret = course_secret(REPO)
    digits, digit_labels, _ = mnist_holdout(secret)
    pets, pet_labels, _ = cats_vs_dogs_holdout(secret)
    prepared = load_reference(MNIST).preprocess_images(digits)
    return {MNIST: ({hashlib.sha1(image.tobytes()).hexdigest() for image in prepared}, digit_labels),
            DOGS: ({hashlib.sha1(image.tobytes()).hexdigest() for image in pets}, pet_labels)}


def test_held_out_images_reach_only_the_clean_worker_and_no_message_carries_their_labels(mnist_graded, dogs_graded):
    """Where the grader-held images go, and what comes back. Every call that carries one of them goes to
    the clean worker (no student cell ran there) and predicts with a handed-in file; the student's own
    worker never receives one. Nothing in a result (checks' messages, cell reports, the student's output,
    the sandbox log) holds a run of their labels: only counts and averages (accuracy, mean probability,
    loss) are reported."""
    held_out = _held_out_images()
    predicted = 0
    for assignment, graded in ((MNIST, mnist_graded), (DOGS, dogs_graded)):
        digests, labels = held_out[assignment]
        window = 16 if assignment == MNIST else 32
        runs = {"".join(map(str, labels[i:i + window])) for i in range(len(labels) - window)}
        for result, calls in graded.values():
            for call in calls:
                if digests & set(call["images"]):
                    assert call["clean"] and call["then"] == "predict_saved_model_batches", call["then"]
                    predicted += 1
            text = json.dumps(result)
            assert not [run for run in runs if run in text]
    assert predicted >= 2


def test_the_order_of_the_held_out_images_is_drawn_per_submission(tmp_path):
    """The images go to the clean worker in an order drawn from the submission's case seed (what
    ``harness.begin_grading`` gets: the course secret and the digest of what the student handed in), so
    that a file cannot know which image it is given: another submission, another order; the same
    submission, the same order. The predictions come back in the images' own order whatever the order
    sent, and 8 images are also predicted alone, each in a call of its own."""
    from autograder import harness
    shutil.copy(MNIST_CATALOGUE.model_file("trained"), tmp_path / MNIST_CATALOGUE.ARTIFACT)
    config = sandbox_config(load_assignment(MNIST), [secret_path(REPO)], [tmp_path / MNIST_CATALOGUE.ARTIFACT])
    images = np.random.default_rng(5).random((96, 28, 28, 1), dtype=np.float32)
    position = {hashlib.sha1(image.tobytes()).hexdigest(): i for i, image in enumerate(images)}
    sent, predictions = {}, {}
    with _recording() as calls, StudentSession([], config) as session:
        proxy = StudentProxy(session)
        for run, seed in enumerate((11, 12, 11)):
            harness.begin_grading(course_secret(REPO), seed)
            try:
                predictions[run], _ = proxy.predict_handed_in(MNIST_CATALOGUE.ARTIFACT, images, chunk=32, timeout=120)
            finally:
                harness.end_grading()
            sent[run] = [[position[d] for d in call["images"]] for call in calls
                         if call["then"] == "predict_saved_model_batches"]
            calls.clear()
        proxy.close()
    assert sent[0] == sent[2] and sent[0] != sent[1]
    for run in sent.values():
        batches, alone = run[:3], run[3:]
        assert sorted(i for batch in batches for i in batch) == list(range(96)) and batches[0] != list(range(32))
        assert len(alone) == 8 and all(len(call) == 1 for call in alone)
    assert np.allclose(predictions[0], predictions[1], atol=1e-5)


def test_the_cases_of_preprocess_images_and_smooth_curve_are_per_submission(mnist_graded, dogs_graded):
    """preprocess_images (03) and smooth_curve (04) answer every case with an error that carries a
    digest of their inputs, in two different submissions each. Their cases were drawn from generators
    with fixed seeds (303, 404), so every student got the same inputs: messages from one submission told
    any other which inputs it would get, and what was expected of them (a failed comparison shows the
    expected value at the worst index), against the rule that hidden cases are drawn per submission
    (``hidden_rng``). Now they are."""
    def digests(result, target):
        return {t["message"].split("case ")[1][:16] for t in result["tests"]
                if t["target"] == target and "case " in t["message"]}
    for graded, target in ((mnist_graded, "preprocess_images"), (dogs_graded, "smooth_curve")):
        first, second = digests(graded["A"][0], target), digests(graded["B"][0], target)
        assert len(first) >= 4 and len(second) >= 4
        random_cases = first - second
        assert len(random_cases) >= 4, (first, second)
