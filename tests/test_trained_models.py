"""Assignment 03's trained model is graded only from the file handed in with the notebook,
mnist_convnet.keras: each wrong file in the catalogue (FILE_MUTANTS in tests/mutants/mnist_convnet.py)
loses exactly the points of train_mnist_convnet, with a message a student can act on, and the grader's
own process never opens a handed-in file. (The correct file gets full marks: tests/test_mutants.py
hands it in with every submission it grades.)
"""

import ast
import importlib.util
import shutil
import tomllib

import nbformat
import pytest

from autograder.assignments import load_assignment
from autograder.grading import grade_submission
from autograder.submissions import build_submission
from conftest import REPO, full_marks, target_points

ASSIGNMENT = "03_mnist_convnet"
TARGET = "train_mnist_convnet"


def _catalogue():
    path = REPO / "tests" / "mutants" / "mnist_convnet.py"
    spec = importlib.util.spec_from_file_location("catalogue_mnist_convnet_files", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGUE = _catalogue()


@pytest.fixture
def no_model_loading_here(monkeypatch):
    """Opening a handed-in model in the grader's process would run its deserialisation there."""
    keras = pytest.importorskip("keras")

    def refuse(*args, **kwargs):
        raise AssertionError("the grader's own process tried to load a handed-in model")

    for module in (keras.saving, keras.models):
        monkeypatch.setattr(module, "load_model", refuse)


@pytest.mark.parametrize("name", list(CATALOGUE.FILE_MUTANTS))
def test_a_wrong_file_loses_exactly_the_trained_models_points(name, tmp_path, no_model_loading_here):
    kind, expected_message = CATALOGUE.FILE_MUTANTS[name]
    path = None if kind is None else CATALOGUE.model_file(kind)  # made before loading is refused below
    notebook = tmp_path / "mnist_convnet.ipynb"
    nbformat.write(build_submission(ASSIGNMENT), notebook)
    if path is not None:
        shutil.copy(path, tmp_path / CATALOGUE.ARTIFACT)
    result = grade_submission(ASSIGNMENT, notebook)

    assert not result["grader_log"], result["grader_log"]
    expected = full_marks(result)
    expected[TARGET] = 0.0
    assert target_points(result) == expected
    failing = [t for t in result["tests"] if t["status"] != "passed"]
    assert failing and all(t["target"] == TARGET for t in failing)
    messages = " ".join(t["message"] for t in failing)
    assert expected_message in messages, messages
    assert "internal error" not in messages


def test_the_catalogue_has_five_wrong_files_and_covers_the_file_target():
    assert CATALOGUE.HANDED_IN_TARGETS == {TARGET}
    assert TARGET in load_assignment(ASSIGNMENT).targets
    assert len(CATALOGUE.FILE_MUTANTS) >= 5
    assert load_assignment(ASSIGNMENT).artifacts == (CATALOGUE.ARTIFACT,)


def test_the_notebook_shows_the_floors_the_grader_uses():
    """The check cell in the notebook states the floors; assignment.toml is what the grader applies."""
    assignment = load_assignment(ASSIGNMENT)
    cell = next(c for c in assignment.source().cells
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == f"check_{TARGET}")
    statement = next(node for node in ast.parse(cell.source).body
                     if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FLOORS")
    shown = ast.literal_eval(statement.value)
    settings = tomllib.loads((assignment.checks_dir / "assignment.toml").read_text())
    assert shown == settings["floors"] == assignment.floors


def test_the_students_code_cannot_change_what_a_handed_in_file_predicts(tmp_path):
    """The file is loaded and run in a sandbox worker that runs none of the student's cells: a cell
    that replaces keras.Model.predict in the student's worker changes nothing about the file's score."""
    patched = CATALOGUE.BASE["preprocess_images"] + (
        "\n\nkeras.Model.predict = lambda self, x, **kwargs: np.full((len(x), 10), 0.1, dtype=np.float32)\n")
    notebook = tmp_path / "mnist_convnet.ipynb"
    nbformat.write(build_submission(ASSIGNMENT, {"preprocess_images": patched}), notebook)
    shutil.copy(CATALOGUE.model_file("trained"), tmp_path / CATALOGUE.ARTIFACT)
    result = grade_submission(ASSIGNMENT, notebook)
    assert target_points(result)[TARGET] == full_marks(result)[TARGET], \
        [t for t in result["tests"] if t["target"] == TARGET and t["status"] != "passed"]
