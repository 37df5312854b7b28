"""Course data: MNIST, Dogs vs Cats and the VGG16 weights, online or offline.

Two *profiles*, chosen with the environment variable ``COURSE_DATA_PROFILE``:

``full`` (default)
    The real files listed in ``datasets/manifest.json``. Each one is downloaded on first
    use into the cache directory, checked against its size and checksum, and only then
    moved into place. When a download fails or a file is corrupt you get a
    ``DataUnavailable`` error that says how to pre-stage the file or switch profile. The
    course never falls back to stand-in data by itself.
``embedded``
    Small offline data generated deterministically under ``<cache dir>/embedded/``:
    real handwritten digits from scikit-learn, shaped like MNIST, and synthetic
    cat/dog drawings in the layout of the Dogs vs Cats subsets. Nothing is downloaded.
    Every call that returns stand-in data prints a one-line notice saying so.

The cache directory is ``COURSE_DATA_DIR`` (default ``~/.cache/cnn_course``). Both
variables are read on every call, so a notebook can set them with ``os.environ`` at any
time.

Command line: ``python -m cnn_course.data --help`` (fetch, verify, build-subsets, info).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import io
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps
from tqdm import tqdm

try:
    import fcntl
except ImportError:  # Windows: no parallel test workers there to guard against
    fcntl = None

__all__ = [
    "DataError",
    "DataProfileError",
    "DataUnavailable",
    "CorruptImageReport",
    "PROFILES",
    "data_profile",
    "data_dir",
    "dataset_names",
    "dataset_info",
    "cached_status",
    "fetch",
    "verify",
    "load_mnist",
    "extract_dogs_vs_cats",
    "image_problem",
    "filter_corrupt_images",
    "make_cats_vs_dogs_small",
    "StandinHead",
    "standin_with_head",
]

PROFILES = ("full", "embedded")
DEFAULT_DATA_DIR = "~/.cache/cnn_course"
# datasets/manifest.json, through a link inside the package so that a wheel (e.g. in Colab) ships it.
MANIFEST_PATH = Path(__file__).with_name("manifest.json")

STANDIN_NOTICE = "embedded profile: synthetic stand-in images, not real photos"
DIGITS_NOTICE = (
    "embedded profile: scikit-learn handwritten digits (8x8 scaled to 28x28, "
    "1,500 train / 297 test), not MNIST"
)

FULL_SUBSET_COUNTS = {"train": 1000, "validation": 500, "test": 1000}
EMBEDDED_SUBSET_COUNTS = {"train": 100, "validation": 50, "test": 100}
SUBSET_CLASSES = {"Cat": "cats", "Dog": "dogs"}  # PetImages folder -> subset class folder
BUILD_RECORD = "BUILD.json"

DOWNLOAD_TIMEOUT_SECONDS = 60
USER_AGENT = "cnn-course-data/1 (+python urllib)"
_CHUNK_BYTES = 1 << 20
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps make the generated npz byte-identical


class DataError(RuntimeError):
    """Base class of the data layer's errors; the message says what to do."""


class DataUnavailable(DataError):
    """A file of the full profile could not be downloaded, is missing, or is corrupt."""


class DataProfileError(DataError, ValueError):
    """COURSE_DATA_PROFILE is invalid, or the call does not apply to the active profile."""


# --------------------------------------------------------------------------- settings


def data_profile() -> str:
    """Return the active data profile, ``"full"`` (default) or ``"embedded"``.

    Read from ``COURSE_DATA_PROFILE`` on every call. Any other value raises
    ``DataProfileError`` listing the two valid values.
    """
    raw = os.environ.get("COURSE_DATA_PROFILE", "")
    profile = raw.strip().lower() or "full"
    if profile not in PROFILES:
        raise DataProfileError(
            f"COURSE_DATA_PROFILE={raw!r} is not a data profile. Use one of: "
            "'full' (the real data, downloaded once and verified) or "
            "'embedded' (small offline stand-in data, never downloaded)."
        )
    return profile


def data_dir() -> Path:
    """Return the cache directory: ``COURSE_DATA_DIR``, default ``~/.cache/cnn_course``.

    The directory is created when something is first written to it.
    """
    raw = os.environ.get("COURSE_DATA_DIR", "").strip()
    return Path(raw or DEFAULT_DATA_DIR).expanduser().absolute()


def _embedded_dir() -> Path:
    return data_dir() / "embedded"


def _notice(message: str) -> None:
    print(message, flush=True)


def _require_profile(profile: str, what: str) -> None:
    if data_profile() == profile:
        return
    if profile == "full":
        raise DataProfileError(
            f"{what}: the embedded profile generates its data locally and never downloads. "
            "Use load_mnist() or make_cats_vs_dogs_small() for the stand-in data, or set "
            "COURSE_DATA_PROFILE=full to download the real files."
        )
    raise DataProfileError(f"{what} only applies to the {profile} profile.")


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of ``datasets/manifest.json``."""

    name: str
    description: str
    url: str
    filename: str
    size: int
    algorithm: str
    checksum: str
    licence: str
    licence_url: str
    citation: str


_HEX_LENGTHS = {"sha256": 64, "md5": 32}


def _parse_entry(raw: Mapping) -> DatasetInfo:
    info = DatasetInfo(
        name=raw["name"],
        description=raw["description"],
        url=raw["url"],
        filename=raw["filename"],
        size=int(raw["size"]),
        algorithm=raw["checksum"]["algorithm"].lower(),
        checksum=raw["checksum"]["value"].lower(),
        licence=raw["licence"],
        licence_url=raw.get("licence_url", ""),
        citation=raw["citation"],
    )
    if _HEX_LENGTHS.get(info.algorithm) != len(info.checksum):
        raise DataError(f"manifest entry {info.name!r}: bad checksum {info.algorithm}:{info.checksum}")
    if Path(info.filename).name != info.filename:
        raise DataError(f"manifest entry {info.name!r}: filename must be a plain file name")
    return info


def _manifest() -> dict[str, DatasetInfo]:
    # Re-read on every call: it is tiny, and tests point MANIFEST_PATH elsewhere.
    try:
        raw = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"The dataset manifest {MANIFEST_PATH} is missing. It ships with the course "
            "repository; install the course with `pip install -e <repository>`."
        ) from None
    entries = [_parse_entry(item) for item in raw["datasets"]]
    return {entry.name: entry for entry in entries}


def dataset_names() -> list[str]:
    """Names of the files in the manifest, e.g. ``["mnist", "dogs_vs_cats", "vgg16_notop"]``."""
    return list(_manifest())


def dataset_info(name: str) -> DatasetInfo:
    """The manifest entry ``name`` (URL, size, checksum, licence, citation, file name)."""
    manifest = _manifest()
    if name not in manifest:
        raise DataError(f"Unknown dataset {name!r}. Known datasets: {', '.join(manifest)}.")
    return manifest[name]


def _cached_path(info: DatasetInfo) -> Path:
    return data_dir() / info.filename


# --------------------------------------------------------------------------- verification

# Files whose checksum already matched in this process, keyed by path, with the stat
# they had then. Re-hashing 800 MB on every call would be slow; a changed size or
# modification time forces a new check.
_verified_files: dict[Path, tuple] = {}


def _file_digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()


def _stat_stamp(path: Path, info: DatasetInfo) -> tuple:
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns, info.algorithm, info.checksum)


def _cached_file_problem(info: DatasetInfo, path: Path, *, full_check: bool) -> str | None:
    """Why the cached file is wrong, or None. Size always; checksum unless known good."""
    size = path.stat().st_size
    if size != info.size:
        return f"it has {size:,} bytes instead of {info.size:,}"
    stamp = _stat_stamp(path, info)
    if not full_check and _verified_files.get(path) == stamp:
        return None
    digest = _file_digest(path, info.algorithm)
    if digest != info.checksum:
        return f"its {info.algorithm} is {digest}"
    _verified_files[path] = stamp
    return None


def _move_aside(path: Path) -> Path:
    """Rename a bad file to ``<name>.corrupt`` (never delete it: it may be evidence)."""
    aside = path.with_name(path.name + ".corrupt")
    number = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt.{number}")
        number += 1
    os.replace(path, aside)
    return aside


def _unavailable_message(info: DatasetInfo, target: Path, problem: str, first_hint: str = "") -> str:
    quoted_target = shlex.quote(str(target))
    return (
        f"{info.name}: {problem}\n"
        f"  file:     {info.filename}\n"
        f"  URL:      {info.url}\n"
        f"  expected: {info.size:,} bytes, {info.algorithm} {info.checksum}\n"
        f"  target:   {target}\n"
        "The full profile never substitutes stand-in data. Ways out:\n"
        f"{first_hint}"
        "  1. Pre-stage the file: download it where you have internet access and put it at\n"
        f"     {target}, for example with\n"
        f"       curl -fL -o {quoted_target} {shlex.quote(info.url)}\n"
        f"     then check it with: python -m cnn_course.data verify {info.name}\n"
        "  2. Use the small offline stand-in data: set COURSE_DATA_PROFILE=embedded\n"
        "     (shell: export COURSE_DATA_PROFILE=embedded; notebook: "
        "os.environ['COURSE_DATA_PROFILE'] = 'embedded')."
    )


def _check_cached_file(info: DatasetInfo, path: Path, *, full_check: bool) -> None:
    problem = _cached_file_problem(info, path, full_check=full_check)
    if problem is None:
        return
    _verified_files.pop(path, None)
    aside = _move_aside(path)
    raise DataUnavailable(
        _unavailable_message(
            info,
            path,
            f"the cached file is corrupt ({problem}); it was moved aside to {aside}.",
            "  0. Run the same call again to download a fresh copy (if you have internet access).\n",
        )
    )


def cached_status(name: str) -> str:
    """Describe the cached file of ``name`` without changing anything.

    Returns ``"missing"``, ``"verified"`` (size and checksum match) or
    ``"corrupt: <why>"``. Hashes the whole file, so it takes a few seconds for the
    Dogs vs Cats archive.
    """
    info = dataset_info(name)
    path = _cached_path(info)
    if not path.is_file():
        return "missing"
    problem = _cached_file_problem(info, path, full_check=True)
    return "verified" if problem is None else f"corrupt: {problem}"


# --------------------------------------------------------------------------- download


class _DownloadProblem(Exception):
    """Internal: why a download cannot be used (becomes a DataUnavailable message)."""


def _open_url(url: str):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS)


def _announced_size(response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _stream_to(info: DatasetInfo, out) -> tuple[int, str]:
    """Copy the URL into ``out`` with a progress bar; return (bytes received, digest)."""
    hasher = hashlib.new(info.algorithm, usedforsecurity=False)
    received = 0
    with _open_url(info.url) as response:
        announced = _announced_size(response)
        if announced is not None and announced != info.size:
            raise _DownloadProblem(f"the server offers {announced:,} bytes, not {info.size:,}")
        with tqdm(total=info.size, unit="B", unit_scale=True, unit_divisor=1024, desc=info.filename) as bar:
            while chunk := response.read(_CHUNK_BYTES):
                received += len(chunk)
                if received > info.size:  # do not fill the disk with a wrong file
                    raise _DownloadProblem(f"the server sent more than {info.size:,} bytes")
                hasher.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
    return received, hasher.hexdigest()


def _download(info: DatasetInfo, target: Path) -> None:
    """Download into a temporary file next to ``target``, verify, then rename into place.

    The rename is atomic, so ``target`` either does not exist or is complete and
    verified, even if the process is killed. The temporary file is always removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{info.filename}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            received, digest = _stream_to(info, out)
            out.flush()
            os.fsync(out.fileno())
        if received != info.size:
            raise _DownloadProblem(f"the download stopped after {received:,} of {info.size:,} bytes")
        if digest != info.checksum:
            raise _DownloadProblem(f"the downloaded file's {info.algorithm} is {digest}")
        os.replace(temp, target)
        _verified_files[target] = _stat_stamp(target, info)
    except (_DownloadProblem, OSError, http.client.HTTPException, ValueError) as error:
        # OSError covers URLError/HTTPError, timeouts and refused connections.
        # "<urlopen error ...>" adds nothing to the reason; "HTTP Error 404: ..." does.
        plain_url_error = isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError)
        reason = error.reason if plain_url_error else error
        raise DataUnavailable(
            _unavailable_message(info, target, f"download failed: {reason}. Nothing was saved at the target.")
        ) from error
    finally:
        temp.unlink(missing_ok=True)


def fetch(name: str, *, verify: bool = False) -> Path:
    """Return the path of the verified file ``name`` (full profile), downloading it if needed.

    A missing file is downloaded with a progress bar into a temporary file in the cache
    directory, checked against the manifest's size and checksum, then atomically renamed
    to ``<cache dir>/<filename>``. A cached file has its size checked on every call and
    its checksum on the first call in each process (or every call with ``verify=True``).
    A corrupt cached file is renamed to ``<filename>.corrupt``.

    Raises ``DataUnavailable`` (with the URL, the expected checksum, and how to pre-stage
    the file or switch to the embedded profile) when the file cannot be obtained, and
    ``DataProfileError`` in the embedded profile, whose data is generated, not fetched.
    """
    _require_profile("full", f"fetch({name!r})")
    info = dataset_info(name)
    target = _cached_path(info)
    if target.exists():
        _check_cached_file(info, target, full_check=verify)
    else:
        _download(info, target)
    return target


def verify(name: str) -> Path:
    """Check the cached file ``name`` against its size and checksum; return its path.

    Never downloads and works in either profile (useful after pre-staging a file). Raises
    ``DataUnavailable`` if the file is missing or corrupt; a corrupt file is renamed to
    ``<filename>.corrupt``.
    """
    info = dataset_info(name)
    target = _cached_path(info)
    if not target.is_file():
        raise DataUnavailable(
            _unavailable_message(
                info,
                target,
                "the file is not in the cache (verify never downloads).",
                f"  0. With internet access: python -m cnn_course.data fetch {name}\n",
            )
        )
    _check_cached_file(info, target, full_check=True)
    return target


# --------------------------------------------------------------------------- atomic writes


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temp_path)``, then rename the result to ``path``: no half-written files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but byte-reproducible (np.savez stamps the current time)."""

    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for key, array in arrays.items():
                member = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_ZIP_TIME)
                member.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(member, "w") as stream:
                    np.lib.format.write_array(stream, np.ascontiguousarray(array), allow_pickle=False)

    _write_atomically(path, write)


# --------------------------------------------------------------------------- committed stand-in files


STANDIN_DIR = Path(__file__).resolve().parent  # holds links to datasets/standin/ (a wheel, copies)
STANDIN_MANIFEST_PATH = MANIFEST_PATH  # the committed list, whatever manifest the downloads use


def standin_file(name: str, remedy: str = "") -> Path:
    """A stand-in file committed in the repository (the manifest's ``standin_files``), checked
    against the manifest's size and SHA-256 on every call. ``remedy`` says how to remake it."""
    try:
        manifest = json.loads(STANDIN_MANIFEST_PATH.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"The dataset manifest {STANDIN_MANIFEST_PATH} is missing. It ships with the course "
                        "repository; install the course with `pip install -e <repository>`.") from None
    entry = next((e for e in manifest.get("standin_files", []) if e["name"] == name), None)
    if entry is None:
        raise DataError(f"{STANDIN_MANIFEST_PATH} has no standin_files entry {name!r}.")
    path = STANDIN_DIR / entry["filename"]
    if not path.is_file():
        raise DataUnavailable(
            f"{name}: the stand-in file {entry['filename']} is missing next to {__file__}. It is committed "
            f"in the course repository as {entry['path']}; install the course from the repository "
            "(pip install -e <repository>) or copy the file there.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if path.stat().st_size != entry["size"] or digest != entry["sha256"]:
        raise DataUnavailable(
            f"{name}: {path} has {path.stat().st_size:,} bytes and sha256 {digest}; the manifest expects "
            f"{entry['size']:,} bytes and sha256 {entry['sha256']}. Restore the committed file (git checkout -- "
            f"{entry['path']}){' or, ' + remedy if remedy else ''}.")
    return path


# --------------------------------------------------------------------------- MNIST

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
        _notice(DIGITS_NOTICE)
    else:
        path = fetch("mnist")
    with np.load(path, allow_pickle=False) as npz:
        return (npz["x_train"], npz["y_train"]), (npz["x_test"], npz["y_test"])


def _embedded_digits_path() -> Path:
    path = _embedded_dir() / EMBEDDED_DIGITS_FILE
    if not path.exists():
        _write_npz(path, _embedded_digits())
    return path


DIGITS_STANDIN = "uci_digits_8x8"


def _embedded_digits() -> dict[str, np.ndarray]:
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


# --------------------------------------------------------------------------- corrupt images

JPEG_SUFFIXES = (".jpg", ".jpeg")
_OTHER_FORMATS = {b"\x89PNG": "a PNG file", b"GIF8": "a GIF file", b"BM": "a BMP file"}


def _header_problem(head: bytes) -> str | None:
    if not head:
        return "zero-byte file"
    if head[:3] == b"\xff\xd8\xff" and head[6:10] in (b"JFIF", b"Exif"):
        return None
    for magic, what in _OTHER_FORMATS.items():
        if head.startswith(magic):
            return f"not a JPEG ({what} with a .jpg name)"
    return "not a JPEG (no JFIF/Exif header)"


def _tensorflow_problem(path: Path) -> str | None:
    import tensorflow as tf  # only when asked: importing TensorFlow takes seconds

    try:
        tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except tf.errors.OpError as error:
        return f"TensorFlow cannot decode it ({error.message.splitlines()[0]})"
    return None


def image_problem(path: str | os.PathLike, *, check_with_tensorflow: bool = False) -> str | None:
    """Return why ``path`` is not a usable JPEG image, or ``None`` if it is.

    Checks, cheapest first: zero-byte file; JPEG signature with a JFIF or Exif header
    (catches PNG/GIF/BMP files named .jpg); Pillow's ``verify()`` and a full decode
    (catches truncated and damaged files); optionally ``tf.io.decode_image``, which is
    what ``keras.utils.image_dataset_from_directory`` uses.
    """
    path = Path(path)
    with open(path, "rb") as stream:
        head = stream.read(16)
    problem = _header_problem(head)
    if problem:
        return problem
    try:
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:  # verify() leaves the image unusable: reopen to decode
            image.load()
    except Exception as error:  # Pillow raises many types for damaged files
        return f"Pillow cannot decode it ({error})"
    return _tensorflow_problem(path) if check_with_tensorflow else None


@dataclass
class CorruptImageReport:
    """What ``filter_corrupt_images`` found: per class, the checked and the skipped files."""

    folder: Path
    checked: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)
    moved_to: Path | None = None

    @property
    def skipped_per_class(self) -> dict[str, int]:
        """Number of skipped files per class, e.g. ``{"Cat": 3, "Dog": 1}``."""
        return {name: len(self.skipped.get(name, [])) for name in self.checked}

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped_per_class.values())

    def summary(self) -> str:
        per_class = ", ".join(f"{name}: {count:,}" for name, count in self.skipped_per_class.items())
        moved = f"; moved to {self.moved_to}" if self.moved_to and self.total_skipped else ""
        return (
            f"Checked {sum(self.checked.values()):,} JPEG files in {self.folder}: "
            f"skipped {self.total_skipped:,} ({per_class}){moved}"
        )

    __str__ = summary


def _natural_key(path: Path) -> tuple:
    """Sort 2.jpg before 10.jpg (PetImages numbers its files)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name))


def _jpeg_files(folder: Path) -> list[Path]:
    files = [path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in JPEG_SUFFIXES]
    return sorted(files, key=_natural_key)


def _class_folders(folder: Path) -> dict[str, Path]:
    """Class name -> folder: the subfolders, or ``folder`` itself if it holds the images."""
    subfolders = sorted(path for path in folder.iterdir() if path.is_dir() and not path.name.startswith("."))
    return {path.name: path for path in subfolders} or {folder.name: folder}


def filter_corrupt_images(
    folder: str | os.PathLike,
    *,
    quarantine_dir: str | os.PathLike | None = None,
    check_with_tensorflow: bool = False,
) -> CorruptImageReport:
    """Find the ``.jpg``/``.jpeg`` files under ``folder`` that are not usable JPEG images.

    ``folder`` holds one subfolder per class (like ``PetImages/{Cat,Dog}``) or the images
    themselves. Each file is checked with ``image_problem``. Bad files are skipped (left
    in place) or, with ``quarantine_dir``, moved to ``quarantine_dir/<class>/``; other
    files (``Thumbs.db``) are ignored. Keep ``quarantine_dir`` outside ``folder``, or it
    becomes a class of its own. Returns a ``CorruptImageReport``; print it for a one-line
    summary with the number skipped per class. The real Dogs vs Cats archive has about
    1,600-1,700 bad files; checking all 25,000 takes a few minutes.
    """
    folder = Path(folder)
    quarantine = Path(quarantine_dir) if quarantine_dir is not None else None
    report = CorruptImageReport(folder=folder, moved_to=quarantine)
    work = [(name, path) for name, images in _class_folders(folder).items() for path in _jpeg_files(images)]
    for name, path in tqdm(work, desc="Checking images", unit="file", disable=len(work) < 500):
        report.checked[name] = report.checked.get(name, 0) + 1
        problem = image_problem(path, check_with_tensorflow=check_with_tensorflow)
        if problem is None:
            continue
        report.skipped.setdefault(name, []).append((path, problem))
        if quarantine is not None:
            (quarantine / name).mkdir(parents=True, exist_ok=True)
            shutil.move(path, quarantine / name / path.name)
    return report


# --------------------------------------------------------------------------- Dogs vs Cats


def extract_dogs_vs_cats() -> Path:
    """Return the ``PetImages`` folder, with ``Cat/<n>.jpg`` and ``Dog/<n>.jpg``.

    Full profile: downloads the Microsoft archive if needed and unzips ``PetImages`` once
    into the cache directory (into a temporary folder first, renamed when complete). The
    images are as published, corrupt files included: see ``filter_corrupt_images``.
    Embedded profile: generates stand-in drawings in the same layout under
    ``<cache dir>/embedded/PetImages``, with a few deliberately broken files.
    """
    if data_profile() == "embedded":
        _notice(STANDIN_NOTICE)
        return _standin_petimages(sum(EMBEDDED_SUBSET_COUNTS.values()))
    target = data_dir() / "PetImages"
    if not target.is_dir():
        _extract_petimages(fetch("dogs_vs_cats"), target)
    return target


def _extract_petimages(archive_path: Path, target: Path) -> None:
    temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".PetImages."))
    try:
        with zipfile.ZipFile(archive_path) as archive:
            members = [m for m in archive.infolist() if m.filename.startswith("PetImages/")]
            for member in tqdm(members, desc=f"Extracting {archive_path.name}", unit="file"):
                archive.extract(member, temp)  # zipfile refuses absolute and ../ paths
        try:
            os.replace(temp / "PetImages", target)
        except OSError:
            if not target.is_dir():  # another process may have finished first
                raise
    except (zipfile.BadZipFile, OSError) as error:
        raise DataError(
            f"Could not extract PetImages from {archive_path} into {target}: {error}. "
            "Check the free disk space (about 850 MB are needed), then run "
            "`python -m cnn_course.data verify dogs_vs_cats`."
        ) from error
    finally:
        shutil.rmtree(temp, ignore_errors=True)


# --------------------------------------------------------------------------- cats_vs_dogs_small


def make_cats_vs_dogs_small(
    target_dir: str | os.PathLike | None = None,
    counts: Mapping[str, int] | None = None,
) -> Path:
    """Build ``cats_vs_dogs_small/{train,validation,test}/{cats,dogs}/`` and return its path.

    Each class gets ``counts`` images per split, taken in PetImages' numeric order from
    the consecutive *valid* images (corrupt ones are skipped and listed in
    ``BUILD.json``): full profile 1,000 / 500 / 1,000 per class from the real archive,
    embedded profile 100 / 50 / 100 stand-in drawings. Files are named
    ``cat.<n>.jpg`` / ``dog.<n>.jpg`` after their PetImages number.

    ``target_dir`` defaults to ``<cache dir>/cats_vs_dogs_small`` (embedded:
    ``<cache dir>/embedded/cats_vs_dogs_small``). The folder is built under a temporary
    name and renamed when complete. If it already exists it is verified against its
    ``BUILD.json`` (file list and sizes) instead of being rebuilt; a mismatch raises
    ``DataError`` and nothing is deleted. Load a split with
    ``keras.utils.image_dataset_from_directory(path / "train", image_size=(180, 180))``.
    """
    profile = data_profile()
    counts = _subset_counts(counts, profile)
    if target_dir is None:
        base = _embedded_dir() if profile == "embedded" else data_dir()
        target = base / "cats_vs_dogs_small"
    else:
        target = Path(target_dir).expanduser().absolute()
    if profile == "embedded":
        _notice(STANDIN_NOTICE)
        _discard_outdated_standins()
    if target.exists():
        _check_subset_build(target, counts, profile)
        return target
    if profile == "embedded":
        source = _standin_petimages(sum(counts.values()))
    else:
        source = extract_dogs_vs_cats()
    # The stand-ins are drawn with Pillow; real photos also get TensorFlow's decoder.
    _build_subsets(source, target, counts, profile, check_with_tensorflow=profile == "full")
    return target


def _subset_counts(counts: Mapping[str, int] | None, profile: str) -> dict[str, int]:
    default = EMBEDDED_SUBSET_COUNTS if profile == "embedded" else FULL_SUBSET_COUNTS
    if counts is None:
        return dict(default)
    counts = dict(counts)
    if set(counts) != set(default) or not all(isinstance(n, int) and n > 0 for n in counts.values()):
        raise ValueError(f"counts must give a positive number of images per class for {list(default)}, got {counts}")
    return {split: counts[split] for split in default}


def _first_valid_images(folder: Path, needed: int, *, check_with_tensorflow: bool):
    """The first ``needed`` valid JPEGs of ``folder`` in numeric order, and the skipped ones."""
    chosen, skipped = [], []
    with tqdm(total=needed, desc=f"Checking {folder.name} images", unit="file", disable=needed < 500) as bar:
        for path in _jpeg_files(folder):
            if len(chosen) == needed:
                break
            problem = image_problem(path, check_with_tensorflow=check_with_tensorflow)
            if problem is None:
                chosen.append(path)
                bar.update()
            else:
                skipped.append((path, problem))
    if len(chosen) < needed:
        raise DataError(f"{folder} has only {len(chosen)} valid JPEG images; {needed} are needed.")
    return chosen, skipped


def _split_assignments(images: list[Path], counts: Mapping[str, int]):
    start = 0
    for split, count in counts.items():
        for path in images[start : start + count]:
            yield split, path
        start += count


def _build_subsets(source: Path, target: Path, counts: dict, profile: str, *, check_with_tensorflow: bool) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    files, skipped = {}, {}
    try:
        for source_class, subset_class in SUBSET_CLASSES.items():
            images, bad = _first_valid_images(
                source / source_class, sum(counts.values()), check_with_tensorflow=check_with_tensorflow
            )
            skipped[source_class] = [[path.name, problem] for path, problem in bad]
            for split, path in _split_assignments(images, counts):
                relative = f"{split}/{subset_class}/{subset_class[:-1]}.{path.stem}.jpg"
                (temp / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, temp / relative)
                files[relative] = (temp / relative).stat().st_size
        record = {
            "format": 1,
            "profile": profile,
            "counts": counts,
            "source": str(source),
            "skipped": skipped,
            "files": files,
        }
        (temp / BUILD_RECORD).write_text(json.dumps(record, indent=1), encoding="utf-8")
        try:
            os.replace(temp, target)
        except OSError:
            if not target.is_dir():
                raise
            _check_subset_build(target, counts, profile)  # another process built it first
            return
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    per_split = " / ".join(f"{count} {split}" for split, count in counts.items())
    skipped_text = ", ".join(f"{name}: {len(items)}" for name, items in skipped.items())
    print(f"Built {target}: {per_split} images per class; skipped bad source files ({skipped_text})", flush=True)


def _subset_files(target: Path, splits) -> dict[str, int]:
    files = {}
    for split in splits:
        for path in (target / split).rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                files[path.relative_to(target).as_posix()] = path.stat().st_size
    return files


def _check_subset_build(target: Path, counts: dict, profile: str) -> None:
    """Raise DataError unless ``target`` is an intact build with these counts."""
    advice = f"Delete {target} (or pass another target_dir) and call make_cats_vs_dogs_small() again."
    try:
        record = json.loads((target / BUILD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        message = f"{target} exists but has no readable {BUILD_RECORD}, so it was not built here. {advice}"
        raise DataError(message) from None
    if record.get("counts") != counts or record.get("profile") != profile:
        raise DataError(
            f"{target} was built for the {record.get('profile')} profile with {record.get('counts')} images per "
            f"class, not the {profile} profile with {counts}. {advice}"
        )
    expected = record["files"]
    actual = _subset_files(target, counts.keys())
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    changed = sorted(name for name in set(expected) & set(actual) if expected[name] != actual[name])
    problems = [
        f"{len(items)} {what} (e.g. {items[0]})"
        for what, items in (("missing", missing), ("unexpected", unexpected), ("changed", changed))
        if items
    ]
    if problems:
        raise DataError(f"{target} no longer matches its {BUILD_RECORD}: {'; '.join(problems)}. {advice}")


# --------------------------------------------------------------------------- stand-in images
#
# Each stand-in is drawn from its own seed (class, number), so the set can grow without
# changing earlier images and any image can be regenerated alone. Cats and dogs share
# backgrounds, fur colours, poses and camera effects; they differ only in the odds of
# six facial traits (see _TRAIT_ODDS).

_STANDIN_SEED = 20240917
STANDIN_VERSION = "2"  # change with any change to the drawings: cached stand-ins are then redrawn
_STANDIN_STAMP = "STANDIN_VERSION"
_DEFECT_EVERY = 37  # about 3% of stand-in files are broken, like ~6.5% in the real archive
_DEFECT_KINDS = ("zero-byte", "png-named-jpg", "truncated")


def _standin_defect(label: int, number: int) -> str | None:
    if (number + 11 * label) % _DEFECT_EVERY != _DEFECT_EVERY - 1:
        return None
    return _DEFECT_KINDS[(number // _DEFECT_EVERY + label) % len(_DEFECT_KINDS)]


def _standin_file_count(valid_needed: int, label: int) -> int:
    count, valid = 0, 0
    while valid < valid_needed:
        valid += _standin_defect(label, count) is None
        count += 1
    return count


@contextlib.contextmanager
def _exclusive(lock_path: Path):
    with open(lock_path, "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _discard_outdated_standins() -> None:
    """Delete stand-ins (and the subsets built from them) drawn by another STANDIN_VERSION.

    Only the generated folders of the embedded cache are touched; they are redrawn on demand.
    """
    embedded = _embedded_dir()
    stamp = embedded / _STANDIN_STAMP
    if stamp.is_file() and stamp.read_text().strip() == STANDIN_VERSION:
        return
    embedded.mkdir(parents=True, exist_ok=True)
    with _exclusive(embedded / f".{_STANDIN_STAMP}.lock"):  # parallel test workers
        if stamp.is_file() and stamp.read_text().strip() == STANDIN_VERSION:
            return
        for generated in ("PetImages", "cats_vs_dogs_small"):
            shutil.rmtree(embedded / generated, ignore_errors=True)
        _write_atomically(stamp, lambda temp: temp.write_text(STANDIN_VERSION + "\n"))


def _standin_petimages(valid_per_class: int) -> Path:
    """Make sure ``embedded/PetImages/{Cat,Dog}`` holds enough stand-ins; return it."""
    _discard_outdated_standins()
    root = _embedded_dir() / "PetImages"
    for label, folder in enumerate(SUBSET_CLASSES):  # 0 = Cat, 1 = Dog
        for number in range(_standin_file_count(valid_per_class, label)):
            path = root / folder / f"{number}.jpg"
            if not path.exists():
                content = _standin_file_bytes(label, number)
                _write_atomically(path, lambda temp: temp.write_bytes(content))
    return root


def _standin_file_bytes(label: int, number: int) -> bytes:
    defect = _standin_defect(label, number)
    if defect == "zero-byte":
        return b""
    image = _draw_standin(label, number)
    if defect == "png-named-jpg":
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()
    data = _standin_jpeg(image, label, number)
    return data[: len(data) * 3 // 5] if defect == "truncated" else data


def _standin_jpeg(image: Image.Image, label: int, number: int) -> bytes:
    """Stand-in ``number`` of class ``label`` as the JPEG file of a valid stand-in."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75 + (number * 7 + label) % 18)
    return buffer.getvalue()


_FUR_COLOURS = [
    (205, 125, 55),  # ginger
    (110, 110, 115),  # grey
    (35, 33, 33),  # black
    (236, 230, 220),  # white
    (135, 90, 55),  # brown
    (220, 195, 150),  # cream
    (165, 155, 145),  # silver
    (90, 60, 40),  # dark brown
]

# Each trait takes its cat form with this probability in cats and its dog form with the
# same probability in dogs. No single trait decides the class, but together they do. The
# odds and the head size are set so that lecture 001's network, trained from scratch on
# 200 stand-ins, leaves chance level after about 8 epochs and overfits by epoch 20, with
# and without augmentation (version 1, with odds of 0.75 to 0.9, smaller heads and busier
# backgrounds, needed 25 epochs from scratch and 30 or more with augmentation).
_TRAIT_ODDS = {
    "pointed_ears": 0.95,  # or floppy ears
    "wide_head": 0.95,  # or a taller head
    "no_muzzle": 0.95,  # or a light, protruding muzzle
    "slit_eyes": 0.95,  # coloured almond eyes, or round dark eyes
    "pink_nose": 0.95,  # small pink triangle, or a big black nose
    "whiskers": 0.95,  # long whiskers, or none
}


def _traits(rng, label: int) -> dict[str, bool]:
    """True means the cat form of the trait (label 0 = cat, 1 = dog)."""
    return {name: bool(rng.random() < odds) == (label == 0) for name, odds in _TRAIT_ODDS.items()}


def _jitter(rng, colour, amount=18):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _mix(colour, other, weight):
    return tuple(int(round(c * (1 - weight) + o * weight)) for c, o in zip(colour, other))


def _random_colour(rng, low=20, high=240, alpha=None):
    colour = tuple(int(v) for v in rng.integers(low, high, 3))
    return colour if alpha is None else (*colour, alpha)


def _ellipse(draw, cx, cy, rx, ry, fill):
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=fill)


def _background(rng, width: int, height: int) -> Image.Image:
    """A blurred room/garden-like scene: a colour gradient with soft shapes on it.

    Some shapes are triangles and fur-coloured blobs, so "pointy" or "furry" alone does
    not mean cat or dog.
    """
    top, bottom = _random_colour(rng, 40, 220), _random_colour(rng, 40, 220)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = (1 - ramp) * np.array(top) + ramp * np.array(bottom)
    scene = Image.fromarray(np.broadcast_to(pixels, (height, width, 3)).astype(np.uint8)).convert("RGBA")
    shapes = Image.new("RGBA", scene.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
        x1, y1 = x0 + rng.uniform(0.1, 0.6) * width, y0 + rng.uniform(0.1, 0.6) * height
        if rng.random() < 0.3:
            fur = _jitter(rng, _FUR_COLOURS[int(rng.integers(len(_FUR_COLOURS)))])
            colour = (*fur, int(rng.integers(120, 220)))
        else:
            colour = _random_colour(rng, alpha=int(rng.integers(70, 200)))
        kind = rng.random()
        if kind < 0.4:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif kind < 0.75:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.polygon([(x0, y1), (x1, y1), (rng.uniform(x0, x1), y0)], fill=colour)
    scene.alpha_composite(shapes)
    return scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.005, 0.025) * width))


@dataclass
class _Head:
    """Where the head is and its colours; shared by all the feature drawers."""

    cx: float
    cy: float
    r: float
    fur: tuple
    shade: tuple
    light: tuple
    yaw: float  # horizontal shift of the face features, in head radii

    @property
    def face_x(self) -> float:
        return self.cx + self.yaw * self.r

    @property
    def line_width(self) -> int:
        return max(1, int(self.r * 0.03))


def _draw_body(draw, rng, head: _Head) -> None:
    bx = head.cx + rng.uniform(-0.4, 0.4) * head.r
    by = head.cy + rng.uniform(1.3, 1.7) * head.r
    rx, ry = rng.uniform(1.1, 1.5) * head.r, rng.uniform(1.0, 1.3) * head.r
    _ellipse(draw, bx, by, rx, ry, head.fur)
    if rng.random() < 0.4:  # a light chest patch
        _ellipse(draw, bx, by - 0.3 * ry, 0.45 * rx, 0.45 * ry, head.light)


def _draw_pointed_ears(draw, rng, head: _Head) -> None:
    r = head.r
    height, spread = rng.uniform(1.3, 1.6), rng.uniform(0.55, 0.75)
    inner_colour = _jitter(rng, (225, 155, 160)) if rng.random() < 0.7 else None
    for side in (-1, 1):
        corners = [
            (head.cx + side * 0.88 * r, head.cy - 0.3 * r),
            (head.cx + side * 0.18 * r, head.cy - 0.88 * r),
            (head.cx + side * spread * r, head.cy - height * r),
        ]
        draw.polygon(corners, fill=head.fur)
        if inner_colour is not None:
            centre = np.mean(corners, axis=0)
            draw.polygon([tuple(centre + 0.55 * (np.array(p) - centre)) for p in corners], fill=inner_colour)


def _draw_floppy_ears(draw, rng, head: _Head) -> None:
    r = head.r
    length, width = rng.uniform(0.6, 0.9), rng.uniform(0.25, 0.38)
    angles = np.linspace(0, 2 * np.pi, 24)
    for side in (-1, 1):
        tilt = side * rng.uniform(0.1, 0.4)  # a hanging ellipse, tilted outwards
        x, y = width * r * np.cos(angles), length * r * np.sin(angles)
        xs = head.cx + side * 0.85 * r + x * np.cos(tilt) - y * np.sin(tilt)
        ys = head.cy + 0.05 * r + x * np.sin(tilt) + y * np.cos(tilt)
        draw.polygon(list(zip(xs, ys)), fill=head.shade)


def _draw_forehead_stripes(draw, head: _Head) -> None:
    r, width = head.r, max(1, int(head.r * 0.06))
    for dx in (-0.25, 0.0, 0.25):
        x = head.cx + (dx + head.yaw * 0.5) * r
        draw.line([(x, head.cy - 0.8 * r), (x + dx * 0.3 * r, head.cy - 0.42 * r)], fill=head.shade, width=width)


def _draw_muzzle(draw, rng, head: _Head, muzzle: bool) -> float:
    """A dog-like muzzle, or (sometimes) cat-like whisker pads; return the nose height."""
    r, fx = head.r, head.face_x
    if muzzle:
        muzzle_y = head.cy + rng.uniform(0.38, 0.5) * r
        _ellipse(draw, fx, muzzle_y, rng.uniform(0.38, 0.5) * r, rng.uniform(0.3, 0.4) * r, head.light)
        if rng.random() < 0.3:
            _ellipse(draw, fx, muzzle_y + 0.28 * r, 0.11 * r, 0.15 * r, _jitter(rng, (225, 110, 120)))  # tongue
        return muzzle_y - 0.18 * r
    if rng.random() < 0.4:
        for side in (-1, 1):
            _ellipse(draw, fx + side * 0.16 * r, head.cy + 0.38 * r, 0.2 * r, 0.16 * r, head.light)
    return head.cy + 0.22 * r


def _draw_eyes(draw, rng, head: _Head, slit: bool) -> None:
    r = head.r
    iris_choices = [(120, 190, 60), (215, 185, 40), (200, 130, 40), (110, 170, 210)]
    iris = _jitter(rng, iris_choices[int(rng.integers(len(iris_choices)))])
    dark = _jitter(rng, (60, 35, 20), 15)
    for side in (-1, 1):
        ex, ey = head.face_x + side * 0.37 * r, head.cy - 0.12 * r
        if slit:
            _ellipse(draw, ex, ey, 0.2 * r, 0.14 * r, iris)
            _ellipse(draw, ex, ey, 0.045 * r, 0.12 * r, (15, 15, 15))
        else:
            _ellipse(draw, ex, ey, 0.1 * r, 0.1 * r, dark)
            _ellipse(draw, ex - 0.03 * r, ey - 0.03 * r, 0.03 * r, 0.03 * r, (240, 240, 240))


def _draw_nose_and_mouth(draw, rng, head: _Head, nose_y: float, pink: bool) -> None:
    r, fx = head.r, head.face_x
    if pink:
        size = rng.uniform(0.07, 0.11) * r
        pink = _jitter(rng, (215, 120, 130))
        draw.polygon([(fx - size, nose_y), (fx + size, nose_y), (fx, nose_y + size)], fill=pink)
        bottom = nose_y + size
    else:
        _ellipse(draw, fx, nose_y, rng.uniform(0.12, 0.2) * r, rng.uniform(0.08, 0.12) * r, (20, 18, 18))
        bottom = nose_y + 0.1 * r
    for side in (-1, 1):
        mouth_end = (fx + side * 0.12 * r, bottom + 0.12 * r)
        draw.line([(fx, bottom), mouth_end], fill=(40, 30, 30), width=head.line_width)


def _draw_whiskers(draw, rng, head: _Head) -> None:
    r, length = head.r, rng.uniform(0.8, 1.3)
    colour = _jitter(rng, (225, 225, 220), 25)
    for side in (-1, 1):
        for k in range(3):
            start = (head.face_x + side * 0.22 * r, head.cy + (0.36 + 0.05 * k) * r)
            end = (start[0] + side * length * r, start[1] + (-0.15 + 0.15 * k) * r)
            draw.line([start, end], fill=colour, width=head.line_width)


def _draw_head(draw, rng, head: _Head, traits: dict[str, bool]) -> None:
    if traits["pointed_ears"]:
        _draw_pointed_ears(draw, rng, head)
    wide = traits["wide_head"]
    _ellipse(draw, head.cx, head.cy, (1.05 if wide else 0.92) * head.r, (0.9 if wide else 1.04) * head.r, head.fur)
    if not traits["pointed_ears"]:  # floppy ears hang over the sides of the head
        _draw_floppy_ears(draw, rng, head)
    if rng.random() < 0.35:
        _draw_forehead_stripes(draw, head)
    nose_y = _draw_muzzle(draw, rng, head, muzzle=not traits["no_muzzle"])
    _draw_eyes(draw, rng, head, slit=traits["slit_eyes"])
    _draw_nose_and_mouth(draw, rng, head, nose_y, pink=traits["pink_nose"])
    if traits["whiskers"]:
        _draw_whiskers(draw, rng, head)


def _photo_finish(rng, image: Image.Image) -> Image.Image:
    """Camera-like imperfections: blur, exposure, contrast, sensor noise."""
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0)))
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.75, 1.2))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.75, 1.2))
    noise = rng.normal(0.0, rng.uniform(2.0, 8.0), (image.height, image.width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8))


def _draw_standin(label: int, number: int, *, seed: int = _STANDIN_SEED) -> Image.Image:
    """Draw stand-in number ``number`` of class ``label`` (0 = cat, 1 = dog).

    ``seed`` (a non-negative integer) picks another family of drawings: the grader draws
    its held-out stand-ins from a seed of its own; the course's stand-ins use the default.
    """
    return _draw_standin_and_head(label, number, seed=seed)[0]


@dataclass(frozen=True)
class StandinHead:
    """Where the head of a stand-in drawing is, in the pixels of the drawn image.

    ``cx``, ``cy``: the centre of the head (x from the left, y from the top, in pixels), after the
    mirroring that half of the drawings get; ``r``: the head's radius (the face ellipse spans about
    0.9 to 1.05 ``r`` either way, the ears reach beyond); ``width``, ``height``: the image's size;
    ``mirrored``: whether the drawing was mirrored left to right.
    """

    cx: float
    cy: float
    r: float
    width: int
    height: int
    mirrored: bool


def standin_with_head(label: int, number: int, *, seed: int = _STANDIN_SEED) -> tuple[Image.Image, StandinHead]:
    """Stand-in number ``number`` of class ``label`` (0 = cat, 1 = dog) and where its head is.

    The image is the one the embedded profile's files hold (``PetImages/Cat/<number>.jpg`` before
    JPEG compression; the subsets' ``cat.<number>.jpg``); the head is where the features that tell
    a cat from a dog are drawn (ears, eyes, muzzle, nose, whiskers). The animal is rotated about the
    head's centre, so the centre does not move. ``seed`` as in the grader's held-out drawings.
    """
    return _draw_standin_and_head(label, number, seed=seed)


def _draw_standin_and_head(label: int, number: int, *, seed: int = _STANDIN_SEED) -> tuple[Image.Image, StandinHead]:
    rng = np.random.default_rng([seed, label, number])
    width, height = int(rng.integers(160, 241)), int(rng.integers(140, 211))
    canvas = _background(rng, width, height)
    fur = _jitter(rng, _FUR_COLOURS[int(rng.integers(len(_FUR_COLOURS)))])
    head = _Head(
        cx=rng.uniform(0.25, 0.75) * width,
        cy=rng.uniform(0.3, 0.62) * height,
        r=rng.uniform(0.3, 0.4) * min(width, height),
        fur=fur,
        shade=_mix(fur, (20, 15, 10), rng.uniform(0.25, 0.5)),
        light=_mix(fur, (245, 238, 225), rng.uniform(0.35, 0.7)),
        yaw=rng.uniform(-0.2, 0.2),
    )
    animal = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(animal)
    _draw_body(draw, rng, head)
    _draw_head(draw, rng, head, _traits(rng, label))
    animal = animal.rotate(rng.uniform(-25, 25), resample=Image.Resampling.BILINEAR, center=(head.cx, head.cy))
    canvas.alpha_composite(animal)
    image = canvas.convert("RGB")
    mirrored = bool(rng.random() < 0.5)
    if mirrored:
        image = ImageOps.mirror(image)
    where = StandinHead(cx=width - head.cx if mirrored else head.cx, cy=head.cy, r=head.r, width=width,
                        height=height, mirrored=mirrored)
    return _photo_finish(rng, image), where


if __name__ == "__main__":
    from cnn_course.data_cli import main

    sys.exit(main())
