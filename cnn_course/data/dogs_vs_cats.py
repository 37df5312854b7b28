"""Dogs vs Cats: Microsoft's PetImages archive, and the lectures' small subsets built from it.

``extract_dogs_vs_cats()`` gives the ``PetImages`` folder (the real archive on the full
profile, stand-in drawings on the embedded one); ``make_cats_vs_dogs_small()`` copies the
first valid images of each class into ``cats_vs_dogs_small/{train,validation,test}/{cats,dogs}/``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from tqdm import tqdm

from .downloads import fetch
from .errors import DataError
from .images import image_problem, jpeg_files
from .settings import data_dir, data_profile, embedded_dir, notice
from .standins import PETIMAGES_CLASSES, discard_outdated_standins, standin_petimages

STANDIN_NOTICE = "embedded profile: synthetic stand-in images, not real photos"
FULL_SUBSET_COUNTS = {"train": 1000, "validation": 500, "test": 1000}
# A test split larger than the training split: one drawing is 0.001 of test accuracy, fine enough to
# rank 04's two networks (200 drawings, 0.005 each, ranked them against their validation loss).
EMBEDDED_SUBSET_COUNTS = {"train": 200, "validation": 100, "test": 500}
SUBSET_CLASSES = dict(zip(PETIMAGES_CLASSES, ("cats", "dogs")))  # PetImages folder -> subset class folder
BUILD_RECORD = "BUILD.json"


def extract_dogs_vs_cats() -> Path:
    """Return the ``PetImages`` folder, with ``Cat/<n>.jpg`` and ``Dog/<n>.jpg``.

    Full profile: downloads the Microsoft archive if needed and unzips ``PetImages`` once
    into the cache directory (into a temporary folder first, renamed when complete). The
    images are as published, corrupt files included: see ``filter_corrupt_images``.
    Embedded profile: generates stand-in drawings in the same layout under
    ``<cache dir>/embedded/PetImages``, with a few deliberately broken files.
    """
    if data_profile() == "embedded":
        notice(STANDIN_NOTICE)
        return standin_petimages(sum(EMBEDDED_SUBSET_COUNTS.values()))
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
    embedded profile 200 / 100 / 500 stand-in drawings. Files are named
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
        base = embedded_dir() if profile == "embedded" else data_dir()
        target = base / "cats_vs_dogs_small"
    else:
        target = Path(target_dir).expanduser().absolute()
    if profile == "embedded":
        notice(STANDIN_NOTICE)
        discard_outdated_standins()
    if target.exists():
        _check_subset_build(target, counts, profile)
        return target
    if profile == "embedded":
        source = standin_petimages(sum(counts.values()))
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


def first_valid_images(folder: Path, needed: int, *, check_with_tensorflow: bool):
    """The first ``needed`` valid JPEGs of ``folder`` in numeric order, and the skipped ones."""
    chosen, skipped = [], []
    with tqdm(total=needed, desc=f"Checking {folder.name} images", unit="file", disable=needed < 500) as bar:
        for path in jpeg_files(folder):
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
            images, bad = first_valid_images(
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
