"""Assignment 05's trained models are graded only from the files handed in with the notebook, and the
embedded profile's stand-in base teaches the lesson of the real one.

Each grading below hands in a complete, correct notebook with two files, each a mistake from
FILE_MUTANTS in tests/mutants/transfer_learning_vgg16.py (or the correct file): each mistake must cost
exactly its own target's points, with a message that names the problem. Two mistakes share a grading,
one per target; the correct files are graded in the demo class (ada, in tests/conftest.py::check_the_whole_ta_flow).
"""

import ast
import contextlib
import importlib.util
import io
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder.assignments import load_assignment
from autograder.submissions import build_submission
from conftest import full_marks, target_points

MUTANTS = Path(__file__).parent / "mutants"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"catalogue_{name}_files", MUTANTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


catalogue = _load("transfer_learning_vgg16")

FILES = {"train_feature_classifier": catalogue.FEATURES_FILE, "fine_tune": catalogue.FINE_TUNED_FILE}
CORRECT = {"train_feature_classifier": "feature_extraction", "fine_tune": "fine_tuning"}


def _pairs():
    by_target = {target: [name for name, (t, _, _) in catalogue.FILE_MUTANTS.items() if t == target]
                 for target in FILES}
    first, second = by_target.values()
    for index in range(max(len(first), len(second))):
        yield [names[index] for names in (first, second) if index < len(names)]


PAIRS = list(_pairs())


def _grade(tmp_path, monkeypatch, mistakes):
    """Grade a correct notebook handed in with the chosen files. The files are made first; while
    grading, the grader's own process loads no model file but the course's own stand-in base (checked
    against its SHA-256), whose features the feature classifier is scored on."""
    import keras

    from autograder.grading import grade_submission
    from cnn_course.pretrained import standin_base_path
    folder = tmp_path / "submission"
    folder.mkdir()
    chosen = dict(CORRECT)
    for name in mistakes:
        target, kind, _ = catalogue.FILE_MUTANTS[name]
        chosen[target] = kind
    for target, kind in chosen.items():
        if kind is not None:
            shutil.copy(catalogue.model_file(kind), folder / FILES[target])
    notebook = folder / "transfer_learning_vgg16.ipynb"
    nbformat.write(build_submission(catalogue.ASSIGNMENT), notebook)
    course_base = standin_base_path().resolve()
    original = keras.saving.load_model

    def only_the_course_base(path, *args, **kwargs):
        if Path(path).resolve() != course_base:
            raise AssertionError(f"the grader's own process loaded a model file: {path}")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(keras.saving, "load_model", only_the_course_base)
    monkeypatch.setattr(keras.models, "load_model", only_the_course_base)
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


@pytest.mark.parametrize("target,name", [("train_feature_classifier", "FLOORS_FEATURES"),
                                         ("fine_tune", "FLOORS_FINE_TUNED")])
def test_the_notebook_shows_the_floors_the_grader_uses(target, name):
    assignment = load_assignment(catalogue.ASSIGNMENT)
    cell = next(c for c in assignment.source().cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"check_{target}")
    statement = next(node for node in ast.parse(cell.source).body
                     if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == name)
    assert ast.literal_eval(statement.value) == {profile: values[target]
                                                 for profile, values in assignment.floors.items()}


def test_the_stand_in_base_teaches_the_lesson_of_the_real_one():
    """On the embedded profile's test drawings, the classifier on the stand-in base's features beats
    04's network trained from scratch (the demo files of both catalogues, made with the reference code
    and cached), by the margin measured in assignment.toml; the fine-tuned model is not worse than
    feature extraction. A stand-in that stopped acting as a pretrained base fails here."""
    import tomllib

    import keras

    from autograder.assignments import CHECKS
    from cnn_course.data import data_profile
    if data_profile() != "embedded":
        pytest.skip("the lesson of the stand-in base is checked on the embedded profile")
    settings = tomllib.loads((CHECKS / catalogue.ASSIGNMENT / "assignment.toml").read_text())
    lesson = settings["lesson"]["embedded"]
    from_scratch_catalogue = _load("dogs_vs_cats")
    _, _, test = catalogue._datasets()
    images = np.concatenate([np.asarray(x) for x, _ in test])
    labels = np.concatenate([np.asarray(y) for _, y in test])

    def accuracy(path, inputs):
        model = keras.saving.load_model(path, compile=False)
        return float(np.mean((model.predict(inputs, verbose=0).reshape(-1) > 0.5) == (labels == 1)))

    with contextlib.redirect_stdout(io.StringIO()):
        features = catalogue._conv_base().predict(keras.applications.vgg16.preprocess_input(images.copy()),
                                                  verbose=0)
    from_scratch = accuracy(from_scratch_catalogue.model_file("from_scratch"), images)
    extracted = accuracy(catalogue.model_file("feature_extraction"), features)
    fine_tuned = accuracy(catalogue.model_file("fine_tuning"), images)
    assert extracted >= from_scratch + lesson["feature_extraction_beats_from_scratch_by"], (extracted, from_scratch)
    assert fine_tuned >= extracted - lesson["fine_tuning_below_feature_extraction_at_most"], (fine_tuned, extracted)
