"""Assignment 04's trained models are graded only from the files handed in with the notebook.

Each grading below hands in a complete, correct notebook with two files, each a mistake from
FILE_MUTANTS in tests/mutants/dogs_vs_cats.py (or the correct file): each mistake must cost
exactly its own target's points, with a message that names the problem. Two mistakes share a
grading, one per target, to keep the suite fast; the correct files are graded in
the demo class (ada, in tests/conftest.py::check_the_whole_ta_flow).
"""

import ast
import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.assignments import load_assignment
from autograder.submissions import build_submission
from conftest import full_marks, target_points

CATALOGUE_PATH = Path(__file__).parent / "mutants" / "dogs_vs_cats.py"
_spec = importlib.util.spec_from_file_location("catalogue_dogs_vs_cats_files", CATALOGUE_PATH)
catalogue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogue)

FILES = {"train_convnet_from_scratch": catalogue.FROM_SCRATCH_FILE,
         "train_convnet_with_augmentation": catalogue.WITH_AUGMENTATION_FILE}
CORRECT = {"train_convnet_from_scratch": "from_scratch", "train_convnet_with_augmentation": "with_augmentation"}


def _pairs():
    """The file mistakes, two to a grading (one per target) where possible."""
    by_target = {target: [name for name, (t, _, _) in catalogue.FILE_MUTANTS.items() if t == target]
                 for target in FILES}
    first, second = by_target.values()
    for index in range(max(len(first), len(second))):
        yield [names[index] for names in (first, second) if index < len(names)]


PAIRS = list(_pairs())


def _grade(tmp_path, monkeypatch, mistakes):
    """Grade a correct notebook handed in with the chosen files. The files are made first; while
    grading, the grader's own process must never load a model file (only the sandbox may)."""
    import keras

    from autograder.grading import grade_submission
    folder = tmp_path / "submission"
    folder.mkdir()
    chosen = dict(CORRECT)
    for name in mistakes:
        target, kind, _ = catalogue.FILE_MUTANTS[name]
        chosen[target] = kind
    for target, kind in chosen.items():
        if kind is not None:
            shutil.copy(catalogue.model_file(kind), folder / FILES[target])
    notebook = folder / "small_data_convnets.ipynb"
    nbformat.write(build_submission(catalogue.ASSIGNMENT), notebook)

    def refuse(*args, **kwargs):
        raise AssertionError("the grader's own process loaded a model file")

    monkeypatch.setattr(keras.saving, "load_model", refuse)
    monkeypatch.setattr(keras.models, "load_model", refuse)
    return grade_submission(catalogue.ASSIGNMENT, notebook)


def test_every_file_mistake_is_graded():
    assert sorted(name for pair in PAIRS for name in pair) == sorted(catalogue.FILE_MUTANTS)
    assert {target for target, _, _ in catalogue.FILE_MUTANTS.values()} == set(FILES) == catalogue.HANDED_IN_TARGETS


@pytest.mark.parametrize("mistakes", PAIRS, ids=[" + ".join(pair) for pair in PAIRS])
def test_each_file_mistake_loses_exactly_its_targets_points(mistakes, tmp_path, monkeypatch):
    result = _grade(tmp_path, monkeypatch, mistakes)
    assert not result["grader_log"], result["grader_log"]
    expected = full_marks(result)
    for name in mistakes:
        expected[catalogue.FILE_MUTANTS[name][0]] = 0.0
    assert target_points(result) == expected, [t for t in result["tests"] if t["status"] != "passed"]
    for name in mistakes:
        target, _, text = catalogue.FILE_MUTANTS[name]
        failing = [t for t in result["tests"] if t["target"] == target and t["status"] != "passed"]
        assert failing, name
        messages = " ".join(t["message"] for t in failing)
        assert text in messages, (name, messages)
        assert "internal error" not in messages


@pytest.mark.parametrize("target,name", [("train_convnet_from_scratch", "LIMITS_FROM_SCRATCH"),
                                         ("train_convnet_with_augmentation", "LIMITS_WITH_AUGMENTATION")])
def test_the_notebook_shows_the_limits_the_grader_uses(target, name):
    """The check cell states (floor, ceiling) per profile; assignment.toml is what the grader applies."""
    assignment = load_assignment(catalogue.ASSIGNMENT)
    cell = next(c for c in assignment.source().cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"check_{target}")
    statement = next(node for node in ast.parse(cell.source).body
                     if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name)
    expected = {profile: (values[target], values[f"{target}_max_test_loss"])
                for profile, values in assignment.floors.items()}
    assert ast.literal_eval(statement.value) == expected


def test_the_catalogues_network_from_scratch_trains_for_the_notebooks_epochs():
    """The demo's convnet_from_scratch.keras is the notebook's section 4 run: the same epochs per profile."""
    assignment = load_assignment(catalogue.ASSIGNMENT)
    statements = [node for cell in assignment.source().cells if cell.cell_type == "code"
                  for node in ast.walk(ast.parse(cell.source))
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EPOCHS_FROM_SCRATCH"]
    assert len(statements) == 1
    assert ast.literal_eval(statements[0].value) == catalogue.EPOCHS  # one number for both profiles
