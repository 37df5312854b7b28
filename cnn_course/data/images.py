"""Corrupt images: which ``.jpg`` files are not usable JPEGs, and skipping or quarantining them.

The real Dogs vs Cats archive has about 1,600-1,700 bad files (empty, other formats named
``.jpg``, truncated); ``keras.utils.image_dataset_from_directory`` stops with an error when it reaches one.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image
from tqdm import tqdm

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


def jpeg_files(folder: Path) -> list[Path]:
    """The ``.jpg``/``.jpeg`` files directly in ``folder``, in numeric order (2.jpg before 10.jpg)."""
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
    work = [(name, path) for name, images in _class_folders(folder).items() for path in jpeg_files(images)]
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
