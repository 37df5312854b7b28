"""The embedded profile's stand-in ``PetImages/{Cat,Dog}/<n>.jpg``, files like the real archive's.

The drawings come from drawings.py; about 3% of the files are broken on purpose (empty, a PNG
named .jpg, truncated), as the real archive has broken files. The files are made on demand in
``<cache dir>/embedded/`` and redrawn when they were drawn by another STANDIN_VERSION.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from PIL import Image

from .atomic_files import exclusive, write_atomically
from .drawings import draw_standin
from .settings import embedded_dir

STANDIN_VERSION = "4"  # change with any change to the drawings: cached stand-ins are then redrawn
PETIMAGES_CLASSES = ("Cat", "Dog")  # PetImages' class folders; the index is the label drawn (0 = cat)
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


def discard_outdated_standins() -> None:
    """Delete stand-ins (and the subsets built from them) drawn by another STANDIN_VERSION.

    Only the generated folders of the embedded cache are touched; they are redrawn on demand.
    """
    embedded = embedded_dir()
    stamp = embedded / _STANDIN_STAMP
    if stamp.is_file() and stamp.read_text().strip() == STANDIN_VERSION:
        return
    embedded.mkdir(parents=True, exist_ok=True)
    with exclusive(embedded / f".{_STANDIN_STAMP}.lock"):  # parallel test workers
        if stamp.is_file() and stamp.read_text().strip() == STANDIN_VERSION:
            return
        for generated in ("PetImages", "cats_vs_dogs_small"):  # the subsets (dogs_vs_cats.py) hold copies
            shutil.rmtree(embedded / generated, ignore_errors=True)
        write_atomically(stamp, lambda temp: temp.write_text(STANDIN_VERSION + "\n"))


def standin_petimages(valid_per_class: int) -> Path:
    """Make sure ``embedded/PetImages/{Cat,Dog}`` holds enough stand-ins; return it."""
    discard_outdated_standins()
    root = embedded_dir() / "PetImages"
    for label, folder in enumerate(PETIMAGES_CLASSES):  # 0 = Cat, 1 = Dog
        for number in range(_standin_file_count(valid_per_class, label)):
            path = root / folder / f"{number}.jpg"
            if not path.exists():
                content = _standin_file_bytes(label, number)
                write_atomically(path, lambda temp: temp.write_bytes(content))
    return root


def _standin_file_bytes(label: int, number: int) -> bytes:
    defect = _standin_defect(label, number)
    if defect == "zero-byte":
        return b""
    image = draw_standin(label, number)
    if defect == "png-named-jpg":
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()
    data = standin_jpeg(image, label, number)
    return data[: len(data) * 3 // 5] if defect == "truncated" else data


def standin_jpeg(image: Image.Image, label: int, number: int) -> bytes:
    """Stand-in ``number`` of class ``label`` as the JPEG file of a valid stand-in."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=75 + (number * 7 + label) % 18)
    return buffer.getvalue()
