"""The trained files committed under datasets/demo-models/ are current.

A few handed-in files of the demo class and the catalogues take seconds to minutes to train (04's network from
scratch: 30 epochs; 05's fine-tuned networks). They are committed under the name the cache would give them
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


# The files that take 4 s or more to make on a quiet 2-core machine (05's fine-tuned ones 15 s each),
# and those another slow recipe starts from; the rest take a second or less and are made on demand.
SLOW_FILES = {("03_mnist_convnet", "trained"), ("03_mnist_convnet", "unnormalised"),
              ("04_small_data_convnets", "from_scratch"), ("05_transfer_learning_vgg16", "feature_extraction"),
              ("05_transfer_learning_vgg16", "fine_tuning"), ("05_transfer_learning_vgg16", "fine_tuning_with_rescaling")}


def test_the_slow_files_are_committed():
    committed = [(p.parts[-3], p.stem.rsplit("-", 1)[0]) for p in COMMITTED]
    assert sorted(committed) == sorted(SLOW_FILES)
    assert {p.parts[-2] for p in COMMITTED} == {"embedded"}


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
