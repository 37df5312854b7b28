"""Grader-held test sets: images the students never had, for scoring their trained models.

Assignment 03 hands in an MNIST convnet and assignment 04 two dogs-vs-cats convnets. Scoring
them on the public test splits would reward a model that was trained (or tuned) on those
images, so the grader scores them on images drawn from a *course secret* (bytes known only to
the grading side). The same secret always gives the same images, in any process; another secret
gives other images.

``mnist_holdout(secret)``
    full profile: 10,000 of the 50,000 "lost" MNIST test digits that QMNIST reconstructed
    (Yadav and Bottou 2019, examples 10,000..59,999 of its test set; the first 10,000 are
    MNIST's published test set), chosen with a secret-seeded permutation.
    embedded profile: 600 new digits, 60 per class, made from the 297 digits of the stand-in
    test split by secret-seeded small rotations, scalings, shifts and stroke-width changes.
``cats_vs_dogs_holdout(secret)``
    full profile: 1,000 cats and 1,000 dogs from Microsoft's PetImages, chosen with a
    secret-seeded permutation among the valid images *after* the first 2,500 valid ones of
    each class (those make up the lecture subsets), loaded at 180x180 exactly as the
    students' ``image_dataset_from_directory`` pipeline loads them.
    embedded profile: 100 cat and 100 dog stand-in drawings from a secret-derived seed (the
    students' stand-ins use the course's fixed seed), encoded and loaded the same way.

Each function returns ``(images, labels, description)``; the arrays are read-only and cached
per process, keyed by (data profile, data directory, SHA-256 of the secret). The description is
one sentence for the student's feedback: it never contains the secret or anything derived from
it. Nothing is written anywhere but a private temporary folder (for the JPEG files that Keras
reads), removed before the function returns; the full profile's files come from the verified
cache of ``cnn_course.data.fetch`` and a missing file raises ``DataUnavailable`` (the grader
never falls back to other data).

Note that QMNIST and PetImages are public: a student who downloads them could train on the very
pool these images are drawn from. The secret hides *which* images are used, not the pool.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from cnn_course import data
from cnn_course.data import dogs_vs_cats, drawings, mnist, standins
from cnn_course.data.images import jpeg_files

__all__ = ["mnist_holdout", "cats_vs_dogs_holdout", "clear_cache"]

QMNIST_IMAGES = "qmnist_test_images"  # names in datasets/manifest.json
QMNIST_LABELS = "qmnist_test_labels"
QMNIST_PUBLISHED = 10_000  # QMNIST test examples 0..9,999 are MNIST's published test set
FULL_DIGITS = 10_000
EMBEDDED_DIGITS_PER_CLASS = 60
FULL_PETS_PER_CLASS = 1_000
EMBEDDED_PETS_PER_CLASS = 100
IMAGE_SIZE = (180, 180)
CLASS_FOLDERS = ("cats", "dogs")  # label 0, label 1: image_dataset_from_directory sorts them

# Embedded digits: the distortions, and how far a new digit must be from the one it was made from
MAX_ROTATION_DEGREES = 12.0
SCALE_RANGE = (0.9, 1.1)
MAX_SHIFT_PIXELS = 1.0  # 2 px costs the lecture network on the box-centred stand-ins 0.15-0.2 of accuracy
MAX_STROKE_CHANGE = 0.4  # weight of a 3x3 grey dilation (thicker) or erosion (thinner)
MIN_MEAN_CHANGE = 4.0  # mean absolute pixel change (0..255) from the source digit, else redrawn
_MAX_ATTEMPTS = 1000  # per digit; about 1 draw in 25 is redrawn

_cache: dict[tuple, tuple[np.ndarray, np.ndarray, str]] = {}
_cache_lock = threading.Lock()


# --------------------------------------------------------------------------- public functions


def mnist_holdout(secret: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    """(images uint8 (n, 28, 28), labels int64 (n,), description) for the active data profile.

    Full profile: 10,000 lost MNIST test digits from QMNIST. Embedded profile: 600 distorted
    stand-in test digits. Raises ``DataUnavailable`` when a QMNIST file cannot be obtained.
    """
    return _cached("mnist", secret, {"full": _full_digits, "embedded": _embedded_digits})


def cats_vs_dogs_holdout(secret: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    """(images float32 (n, 180, 180, 3) in 0..255, labels int64 (n,) with 0 = cat, 1 = dog, description).

    The images are exactly what ``keras.utils.image_dataset_from_directory(folder,
    image_size=(180, 180), shuffle=False)`` returns for them, cats first. Full profile: 1,000
    photos per class that are not in the lecture subsets. Embedded profile: 100 new stand-in
    drawings per class. Raises ``DataUnavailable`` when the archive cannot be obtained.
    """
    return _cached("cats_vs_dogs", secret, {"full": _full_pets, "embedded": _embedded_pets})


def clear_cache() -> None:
    """Forget the sets made in this process (tests; a grader never needs it)."""
    with _cache_lock:
        _cache.clear()


# --------------------------------------------------------------------------- secret and cache


def _checked_secret(secret) -> bytes:
    if not isinstance(secret, (bytes, bytearray, memoryview)):
        raise TypeError(f"the course secret must be bytes, not {type(secret).__name__}")
    secret = bytes(secret)
    if not secret:
        raise ValueError("the course secret is empty")
    return secret


def _seed(purpose: bytes, secret: bytes) -> int:
    """A 256-bit seed for one use of the secret (another purpose gives an unrelated seed)."""
    return int.from_bytes(hashlib.sha256(purpose + secret).digest(), "big")


def _cached(kind: str, secret, makers) -> tuple[np.ndarray, np.ndarray, str]:
    secret = _checked_secret(secret)
    profile = data.data_profile()
    key = (kind, profile, str(data.data_dir()), hashlib.sha256(secret).hexdigest())
    with _cache_lock:  # one grading thread makes a set, the others wait for it
        if key not in _cache:
            images, labels, description = makers[profile](secret)
            for array in (images, labels):
                array.setflags(write=False)  # shared by every student graded in this process
            _cache[key] = (images, labels, description)
        return _cache[key]


# --------------------------------------------------------------------------- digits, embedded


def _embedded_digits(secret: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    from scipy import ndimage  # installed with scikit-image

    digits = mnist.embedded_digits()
    sources, source_labels = digits["x_test"].astype(np.float64), digits["y_test"]
    public = {image.tobytes() for split in ("x_train", "x_test") for image in digits[split]}
    rng = np.random.default_rng(_seed(b"mnist_holdout/embedded", secret))
    images, labels = [], []
    for digit in range(10):
        members = np.flatnonzero(source_labels == digit)
        # every test digit of the class in turn, in a new secret order on each pass
        passes = -(-EMBEDDED_DIGITS_PER_CLASS // len(members))
        order = np.concatenate([rng.permutation(members) for _ in range(passes)])[:EMBEDDED_DIGITS_PER_CLASS]
        for index in order:
            images.append(_new_digit(sources[index], rng, public, ndimage))
            labels.append(digit)
    shuffle = rng.permutation(len(images))
    description = (
        f"{len(images)} grader-held stand-in digits (embedded profile): the test digits redrawn for this "
        "course with small random rotations, scalings, shifts and stroke changes"
    )
    return np.stack(images)[shuffle], np.asarray(labels, dtype=np.int64)[shuffle], description


def _new_digit(source: np.ndarray, rng, public: set[bytes], ndimage) -> np.ndarray:
    """A randomly distorted copy of ``source`` (28x28, 0..255): clear of the frame's edge,
    visibly changed, and equal to no public digit (otherwise it is drawn again)."""
    for _ in range(_MAX_ATTEMPTS):
        image = _distort(source, rng, ndimage)
        on_the_edge = image[[0, -1], :].any() or image[:, [0, -1]].any()  # MNIST leaves a margin
        if not on_the_edge and np.abs(image - source).mean() >= MIN_MEAN_CHANGE and image.tobytes() not in public:
            return image
    raise RuntimeError(f"no acceptable distortion of a digit in {_MAX_ATTEMPTS} attempts: "
                       "check the distortion settings")


def _distort(source: np.ndarray, rng, ndimage) -> np.ndarray:
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEGREES, MAX_ROTATION_DEGREES))
    scale = rng.uniform(*SCALE_RANGE)
    shift = rng.uniform(-MAX_SHIFT_PIXELS, MAX_SHIFT_PIXELS, 2)
    stroke = rng.uniform(-MAX_STROKE_CHANGE, MAX_STROKE_CHANGE)
    # affine_transform maps each output pixel o to the input pixel matrix @ o + offset: rotate
    # and scale about the frame's centre (where the digit's box is centred), then shift.
    cos, sin = np.cos(angle), np.sin(angle)
    matrix = np.array([[cos, sin], [-sin, cos]]) / scale
    centre = np.full(2, (source.shape[0] - 1) / 2)
    offset = centre - matrix @ (centre + shift)
    image = ndimage.affine_transform(source, matrix, offset=offset, order=1, mode="constant", cval=0.0)
    if stroke > 0:
        image = (1 - stroke) * image + stroke * ndimage.grey_dilation(image, size=(3, 3))
    else:
        image = (1 + stroke) * image - stroke * ndimage.grey_erosion(image, size=(3, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- digits, full (QMNIST)


def _full_digits(secret: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    images = read_idx(data.fetch(QMNIST_IMAGES))
    extended = read_idx(data.fetch(QMNIST_LABELS))
    count = len(images)
    if images.dtype != np.uint8 or images.shape[1:] != (28, 28):
        raise data.DataError(f"{QMNIST_IMAGES}: expected uint8 images of 28x28, got {images.dtype} {images.shape}")
    if extended.ndim != 2 or len(extended) != count:
        raise data.DataError(f"{QMNIST_LABELS}: expected {count} rows of labels, got shape {extended.shape}")
    lost = count - QMNIST_PUBLISHED
    if lost < FULL_DIGITS:
        raise data.DataError(f"QMNIST has {max(lost, 0)} lost test digits after the first {QMNIST_PUBLISHED:,}; "
                             f"{FULL_DIGITS:,} are needed")
    rng = np.random.default_rng(_seed(b"mnist_holdout/full", secret))
    chosen = np.sort(QMNIST_PUBLISHED + rng.permutation(lost)[:FULL_DIGITS])
    labels = extended[chosen, 0].astype(np.int64)  # column 0: the character class
    if labels.min() < 0 or labels.max() > 9:
        raise data.DataError(f"{QMNIST_LABELS}: column 0 holds classes outside 0..9")
    description = (
        f"{FULL_DIGITS:,} grader-held QMNIST digits from MNIST's lost test digits "
        "(Yadav and Bottou 2019), none of them in MNIST"
    )
    return images[chosen], labels, description


_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (MNIST's format; gzipped if the name ends in .gz) into a native array.

    Layout: two zero bytes, a type code (0x08 unsigned byte ... 0x0C 32-bit integer), the
    number of dimensions, then each dimension as a big-endian 32-bit integer, then the data,
    big-endian, row-major. ``qmnist-test-images-idx3-ubyte`` has magic 0x00000803 and
    60000 x 28 x 28 bytes; ``qmnist-test-labels-idx2-int`` 0x00000C02 and 60000 x 8 integers.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        kind = "gzipped IDX" if opener is gzip.open else "IDX"
        raise data.DataError(f"{path.name} cannot be read as {kind}: {error}") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or raw[3] == 0:
        raise data.DataError(f"{path.name} is not an IDX file (magic {raw[:4].hex() or 'missing'})")
    dtype, ndim = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise data.DataError(f"{path.name}: the IDX header is cut short")
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise data.DataError(f"{path.name}: an IDX array of shape {shape} needs {expected:,} bytes, "
                             f"the file has {len(raw):,}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


# --------------------------------------------------------------------------- dogs vs cats


def _embedded_pets(secret: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    seed = _seed(b"cats_vs_dogs_holdout", secret)
    with _private_folder() as folder:
        for label, name in enumerate(CLASS_FOLDERS):
            (folder / name).mkdir()
            for number in range(EMBEDDED_PETS_PER_CLASS):
                drawing = drawings.draw_standin(label, number, seed=seed)
                (folder / name / f"{name[:-1]}.{number}.jpg").write_bytes(standins.standin_jpeg(drawing, label, number))
        images, labels = _load_like_the_students(folder)
    description = (
        f"{len(labels)} grader-held stand-in drawings (embedded profile), "
        f"{EMBEDDED_PETS_PER_CLASS} cats and {EMBEDDED_PETS_PER_CLASS} dogs, drawn for this course"
    )
    return images, labels, description


def _full_pets(secret: bytes) -> tuple[np.ndarray, np.ndarray, str]:
    root = data.extract_dogs_vs_cats()
    rng = np.random.default_rng(_seed(b"cats_vs_dogs_holdout/full", secret))
    with _private_folder() as folder:
        for (source, name) in data.SUBSET_CLASSES.items():  # Cat -> cats, Dog -> dogs
            (folder / name).mkdir()
            for path in _unseen_valid_images(root / source, FULL_PETS_PER_CLASS, rng):
                shutil.copyfile(path, folder / name / f"{name[:-1]}.{path.stem}.jpg")
        images, labels = _load_like_the_students(folder)
    description = (
        f"{len(labels):,} grader-held photos from Microsoft's Dogs vs Cats archive "
        f"({FULL_PETS_PER_CLASS:,} cats, {FULL_PETS_PER_CLASS:,} dogs), none of them in the lecture subsets"
    )
    return images, labels, description


def _unseen_valid_images(folder: Path, needed: int, rng) -> list[Path]:
    """``needed`` valid JPEGs of ``folder``, secret-chosen, none of them in the lecture subsets.

    make_cats_vs_dogs_small takes the first valid images in numeric order (2,500 per class for
    the full profile), checked with TensorFlow's decoder: the same function finds where they end.
    """
    lecture_count = sum(dogs_vs_cats.FULL_SUBSET_COUNTS.values())  # read where make_cats_vs_dogs_small reads it
    lecture, _ = dogs_vs_cats.first_valid_images(folder, lecture_count, check_with_tensorflow=True)
    files = jpeg_files(folder)
    candidates = files[files.index(lecture[-1]) + 1:]
    chosen = []
    for index in rng.permutation(len(candidates)):
        if data.image_problem(candidates[index], check_with_tensorflow=True) is None:
            chosen.append(candidates[index])
            if len(chosen) == needed:
                return chosen
    raise data.DataError(f"{folder} has only {len(chosen)} valid JPEG images after the {len(lecture):,} of the "
                         f"lecture subsets; the grader needs {needed:,}")


@contextlib.contextmanager
def _private_folder():
    """A temporary folder only this user can read (mkdtemp: mode 0700), always removed."""
    folder = Path(tempfile.mkdtemp(prefix="cnn-course-holdout-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _load_like_the_students(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read folder/{cats,dogs}/ with the students' Keras call (at 180x180, not shuffled)."""
    import keras  # only here: importing Keras takes seconds

    with contextlib.redirect_stdout(io.StringIO()):  # "Found 200 files belonging to 2 classes."
        dataset = keras.utils.image_dataset_from_directory(
            folder, image_size=IMAGE_SIZE, batch_size=64, shuffle=False
        )
    if tuple(dataset.class_names) != CLASS_FOLDERS:
        raise data.DataError(f"expected the classes {CLASS_FOLDERS}, Keras found {dataset.class_names}")
    count = len(dataset.file_paths)
    images = np.empty((count, *IMAGE_SIZE, 3), dtype=np.float32)  # filled in place: 2,000 images are 778 MB
    labels = np.empty(count, dtype=np.int64)
    start = 0
    for batch_images, batch_labels in dataset:
        stop = start + len(batch_labels)
        images[start:stop] = np.asarray(batch_images)
        labels[start:stop] = np.asarray(batch_labels)
        start = stop
    if start != count:
        raise data.DataError(f"Keras listed {count} files in {folder} but delivered {start} images")
    return images, labels
