"""Hidden checks for make_subset, run on small fake PetImages folders.

The grader writes each fake folder into the sandbox's scratch space (inspector
``write_file_tree``; the images' colours are drawn per submission, so no listing can be known
in advance), calls the student's make_subset on it there, and lists the whole folder itself,
from outside the student's process and without following links (``student.list_tree``: every
path with its size and SHA-256). The instructor's make_subset runs here on an identical folder;
the two listings must agree, originals included, so a function that moves, renames, skips or
adds files is caught.
"""

import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder.harness import expect, expect_exact, hidden_rng
from autograder.sandbox.inspectors import list_file_tree

TARGET = pytest.mark.target("make_subset")
SHOWN = 4  # differences listed per message
_TINT = [int(v) for v in hidden_rng("make_subset images").integers(0, 256, 3)]


def _jpeg(label: int, number: int) -> bytes:
    """A tiny, distinct JPEG for image <number> of class <label> (0 cat, 1 dog)."""
    colour = ((37 * number + 90 * label + _TINT[0]) % 256, (11 * number + _TINT[1]) % 256,
              (200 - 150 * label + _TINT[2]) % 256)
    buffer = io.BytesIO()
    Image.new("RGB", (6 + number % 3, 5), colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _pet_images(numbers: dict, extras=("Thumbs.db",)) -> dict:
    """PetImages/{Cat,Dog}/<n>.jpg for the given numbers, plus a Thumbs.db per class."""
    files = {}
    for label, folder in enumerate(("Cat", "Dog")):
        for number in numbers[folder]:
            files[f"PetImages/{folder}/{number}.jpg"] = _jpeg(label, number)
        for name in extras:
            files[f"PetImages/{folder}/{name}"] = f"not an image: {folder}".encode()
    return files


# label -> (source files, calls: (target folder relative to the tree, subset, start, end))
CASES = {
    "one subset, images 2..5 of 0..11": (
        _pet_images({"Cat": range(12), "Dog": range(12)}),
        [("cats_vs_dogs_small", "train", 2, 6)]),
    "train, validation and test into one folder, as in the lecture (0..3, 3..5, 5..8)": (
        _pet_images({"Cat": range(10), "Dog": range(10)}),
        [("cats_vs_dogs_small", "train", 0, 3), ("cats_vs_dogs_small", "validation", 3, 5),
         ("cats_vs_dogs_small", "test", 5, 8)]),
    "numbers past 9 (sorted as text 10 comes before 2), images 8..13": (
        _pet_images({"Cat": range(16), "Dog": range(16)}),
        [("cats_vs_dogs_small", "test", 8, 14)]),
    "missing numbers are skipped (Cat/3, Cat/11 and Dog/0, Dog/12 were moved away), images 0..13": (
        _pet_images({"Cat": [n for n in range(15) if n not in (3, 11)], "Dog": [n for n in range(15) if n not in (0, 12)]}),
        [("out/small", "train", 0, 14)]),
    "a target folder that does not exist yet, two levels deep": (
        _pet_images({"Cat": range(5), "Dog": range(5)}),
        [("data/new/cats_vs_dogs_small", "validation", 1, 4)]),
    "two calls into the same subset, whose folders then exist already (0..3, then 3..6)": (
        _pet_images({"Cat": range(8), "Dog": range(8)}),
        [("cats_vs_dogs_small", "train", 0, 3), ("cats_vs_dogs_small", "train", 3, 6)]),
    "a range without any image (20..23 of 0..9): the folders are made all the same": (
        _pet_images({"Cat": range(10), "Dog": range(10)}),
        [("cats_vs_dogs_small", "test", 20, 23)]),
}


def _as_arrays(files: dict) -> dict:
    return {path: np.frombuffer(content, dtype=np.uint8) for path, content in files.items()}


def _reference_run(reference, files: dict, calls) -> list:
    """Listings of the tree after each of the instructor's calls, and the returned counts."""
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        for path, content in files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(content)
        for target, subset, start, end in calls:
            returned = reference.make_subset(str(root / "PetImages"), str(root / target), subset, start, end)
            results.append((returned, list_file_tree(str(root))))
    return results


def _explain(got: dict, expected: dict, files: dict) -> str:
    """What differs between two listings, in words, with the copies traced to their originals."""
    import hashlib
    origin = {f"file {len(c)} {hashlib.sha256(c).hexdigest()}": path for path, c in files.items()}
    lines = []
    missing = [p for p in expected if p not in got]
    unexpected = [p for p in got if p not in expected]
    changed = [p for p in expected if p in got and got[p] != expected[p]]
    originals_gone = [p for p in missing if p.startswith("PetImages/")]
    if originals_gone:
        lines.append(f"{len(originals_gone)} original(s) no longer in PetImages, e.g. {originals_gone[0]}: copy the "
                     "images, don't move or delete them")
    missing = [p for p in missing if not p.startswith("PetImages/")]
    if missing:
        lines.append(f"missing: {', '.join(missing[:SHOWN])}" + (f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""))
    if unexpected:
        described = [p + (f" (a copy of {origin[got[p]]})" if got[p] in origin else "") for p in unexpected[:SHOWN]]
        lines.append(f"not expected: {', '.join(described)}"
                     + (f" and {len(unexpected) - SHOWN} more" if len(unexpected) > SHOWN else ""))
    if changed:
        described = [p + (f" holds a copy of {origin[got[p]]}" if got[p] in origin else " has other contents")
                     for p in changed[:SHOWN]]
        lines.append("; ".join(described))
    return "; ".join(lines)


def _tree_label(files) -> str:
    counts = {folder: sum(1 for p in files if p.startswith(f"PetImages/{folder}/") and p.endswith(".jpg"))
              for folder in ("Cat", "Dog")}
    return f"a PetImages folder with {counts['Cat']} Cat and {counts['Dog']} Dog images"


@TARGET
@pytest.mark.parametrize("case", list(CASES))
def test_builds_the_same_folders_as_the_reference(case, student, reference):
    files, calls = CASES[case]
    expected = _reference_run(reference, files, calls)
    root = student.inspect("write_file_tree", _as_arrays(files), what="the grader's fake image folder")
    for (target, subset, start, end), (expected_return, expected_tree) in zip(calls, expected):
        call = f"make_subset(PetImages, {target!r}, {subset!r}, {start}, {end})"
        returned = student.call("make_subset", f"{root}/PetImages", f"{root}/{target}", subset, start, end)
        tree = student.list_tree(root, what="the folder after your make_subset")
        expect(tree == expected_tree,
               f"{case}: after {call} on {_tree_label(files)}, the folders differ from the expected ones: "
               f"{_explain(tree, expected_tree, files)}.",
               f"{case}: {call} made the expected folders and files")
        expect_exact(f"{case}: {call} returns the number of images copied per class, as sorted (class, count) pairs",
                     sorted(returned.items()) if isinstance(returned, dict) else returned,
                     sorted(expected_return.items()))
