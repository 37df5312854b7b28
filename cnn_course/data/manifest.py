"""The manifest ``datasets/manifest.json``: the files of the full profile (``dataset_info``) and
the stand-in files committed in the repository (``standin_file``).

Both are reached through links in ``cnn_course/`` (the parent of this package), which a wheel
build turns into copies, so ``pip install`` outside the repository (Colab) ships them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError, DataUnavailable

_PACKAGE_DIR = Path(__file__).parent.parent  # cnn_course/, where the links to datasets/ are
MANIFEST_PATH = _PACKAGE_DIR / "manifest.json"  # a link to datasets/manifest.json


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


# --------------------------------------------------------------------------- committed stand-in files


STANDIN_DIR = _PACKAGE_DIR.resolve()  # holds links to datasets/standin/ (a wheel, copies)
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
            f"{name}: the stand-in file {entry['filename']} is missing in {STANDIN_DIR}. It is committed "
            f"in the course repository as {entry['path']}; install the course from the repository "
            "(pip install -e <repository>) or copy the file there.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if path.stat().st_size != entry["size"] or digest != entry["sha256"]:
        raise DataUnavailable(
            f"{name}: {path} has {path.stat().st_size:,} bytes and sha256 {digest}; the manifest expects "
            f"{entry['size']:,} bytes and sha256 {entry['sha256']}. Restore the committed file (git checkout -- "
            f"{entry['path']}){' or, ' + remedy if remedy else ''}.")
    return path
