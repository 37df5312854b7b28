"""MNIST: the real one on the full profile, scikit-learn's handwritten digits shaped like it on
the embedded profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .atomic_files import write_npz
from .downloads import fetch
from .manifest import standin_file
from .settings import data_profile, embedded_dir, notice

DIGITS_NOTICE = (
    "embedded profile: scikit-learn handwritten digits (8x8 scaled to 28x28, "
    "1,500 train / 297 test), not MNIST"
)
EMBEDDED_DIGITS_FILE = "digits_as_mnist.npz"
EMBEDDED_DIGITS_TRAIN = 1500


def load_mnist():
    """Return ``(x_train, y_train), (x_test, y_test)`` like ``keras.datasets.mnist.load_data()``.

    Full profile: the real MNIST from the manifest (uint8, 60,000 + 10,000 images of
    28x28). Embedded profile: the 1,797 scikit-learn handwritten digits scaled to 28x28
    uint8 0..255, 1,500 for training and 297 for testing, same keys and dtypes.
    """
    if data_profile() == "embedded":
        path = _embedded_digits_path()
        notice(DIGITS_NOTICE)
    else:
        path = fetch("mnist")
    with np.load(path, allow_pickle=False) as npz:
        return (npz["x_train"], npz["y_train"]), (npz["x_test"], npz["y_test"])


def _embedded_digits_path() -> Path:
    path = embedded_dir() / EMBEDDED_DIGITS_FILE
    if not path.exists():
        write_npz(path, embedded_digits())
    return path


DIGITS_STANDIN = "uci_digits_8x8"


def embedded_digits() -> dict[str, np.ndarray]:
    """The embedded profile's digits as arrays (the npz file's four keys), from the committed file.

    Also the grader's source for its held-out digits (autograder/holdout.py).
    """
    # The committed copy of the file scikit-learn's load_digits() reads: scikit-learn itself is not
    # installed, because Keras imports it (1.4 s) whenever it is there, in every grading worker.
    table = np.loadtxt(standin_file(DIGITS_STANDIN), delimiter=",")  # NumPy reads .gz itself
    images = _digits_as_mnist(table[:, :64].reshape(-1, 8, 8))
    labels = table[:, 64].astype(np.uint8)
    # A fixed cut, no shuffling: the file stays identical across NumPy versions.
    cut = EMBEDDED_DIGITS_TRAIN
    return {"x_train": images[:cut], "y_train": labels[:cut], "x_test": images[cut:], "y_test": labels[cut:]}


def _linear_resize_matrix(size_in: int, size_out: int) -> np.ndarray:
    """Matrix W with ``W @ v`` = linear interpolation of v (pixel centres aligned)."""
    positions = np.clip((np.arange(size_out) + 0.5) * size_in / size_out - 0.5, 0, size_in - 1)
    low = np.floor(positions).astype(int)
    high = np.minimum(low + 1, size_in - 1)
    weight_high = positions - low
    matrix = np.zeros((size_out, size_in))
    matrix[np.arange(size_out), low] += 1 - weight_high
    matrix[np.arange(size_out), high] += weight_high
    return matrix


def _digits_as_mnist(images: np.ndarray) -> np.ndarray:
    """8x8 images in 0..16 -> 28x28 uint8 in 0..255.

    Like MNIST, the digit fills a 20x20 box centred in a 28x28 frame.
    """
    resize = _linear_resize_matrix(8, 20)
    upsampled = resize @ images @ resize.T
    scaled = np.clip(np.rint(upsampled * (255 / 16)), 0, 255).astype(np.uint8)
    return np.pad(scaled, ((0, 0), (4, 4), (4, 4)))
