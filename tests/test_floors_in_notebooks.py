"""The floors a source notebook's own checks print are the floors the grader applies
(assignment.toml), so that a student who passes the notebook's check passes the grader's."""

import ast

import pytest

from autograder.assignments import load_assignment


def _literal(notebook, name):
    """The value of the one top-level `name = <literal>` among the notebook's code cells."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
                found.append(ast.literal_eval(node.value))
    assert len(found) == 1, f"{name} is assigned {len(found)} times"
    return found[0]


def _floors(assignment_id):
    floors = load_assignment(assignment_id).floors
    return {profile: dict(values) for profile, values in floors.items()}


def test_03_notebook_floors_are_the_graders():
    notebook = load_assignment("03_mnist_convnet").source()
    assert _literal(notebook, "FLOORS") == _floors("03_mnist_convnet")


@pytest.mark.parametrize("target,name", [("train_convnet_from_scratch", "LIMITS_FROM_SCRATCH"),
                                         ("train_convnet_with_augmentation", "LIMITS_WITH_AUGMENTATION")])
def test_04_notebook_limits_are_the_graders(target, name):
    notebook = load_assignment("04_small_data_convnets").source()
    expected = {profile: (values[target], values[f"{target}_max_test_loss"])
                for profile, values in _floors("04_small_data_convnets").items()}
    assert _literal(notebook, name) == expected
