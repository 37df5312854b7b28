"""The trained files committed under datasets/demo-models/ are current.

A few handed-in files of the demo class and the catalogues take minutes to train (04's network from
scratch: 20 epochs). They are committed under the name the cache would give them
(``autograder.submissions.cached_model_file``: <assignment>/<profile>/<kind>-<key>.keras), so that a
fresh clone finds them instead of training them. The key hashes the recipe and the reference code:
a committed file whose key no recipe gives any more would be dead weight, and its replacement would be
trained on every fresh clone again, so it fails here.
"""

import importlib.util
import json
import zipfile
from pathlib import Path

import pytest

from autograder.submissions import COMMITTED_MODELS

CATALOGUE_DIR = Path(__file__).parent / "mutants"
COMMITTED = sorted(COMMITTED_MODELS.glob("*/*/*.keras"))


def _catalogue(assignment_id: str):
    for path in sorted(CATALOGUE_DIR.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"committed_models_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if getattr(module, "ASSIGNMENT", None) == assignment_id and hasattr(module, "_cache_key"):
            return module
    raise AssertionError(f"no catalogue in {CATALOGUE_DIR} makes the files of {assignment_id}")


def test_the_slow_files_are_committed():
    assert [p.relative_to(COMMITTED_MODELS).parts[:2] for p in COMMITTED] == [("04_small_data_convnets", "embedded")]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: str(p.relative_to(COMMITTED_MODELS)))
def test_each_committed_file_has_the_key_its_recipe_gives_now(path, monkeypatch):
    assignment_id, profile = path.parts[-3], path.parts[-2]
    kind, key = path.stem.rsplit("-", 1)
    monkeypatch.setenv("COURSE_DATA_PROFILE", profile)
    current = _catalogue(assignment_id)._cache_key(kind)
    assert key == current, (
        f"{path} was trained by an earlier recipe or reference code (key {key}, now {current}). Make the "
        f"current file (run the tests once, or `make demo`), copy COURSE_DATA_DIR/demo-models/{assignment_id}/"
        f"{profile}/{kind}-{current}.keras next to it, and `git rm` this one.")
    with zipfile.ZipFile(path) as archive:  # a .keras file, not a Git LFS pointer or an HDF5 file
        assert json.loads(archive.read("config.json"))["class_name"] in ("Sequential", "Functional")
