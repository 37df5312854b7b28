"""What the notebooks' texts quote from their own runs matches the stored outputs.

Model answers are markdown, so they cannot print the numbers of the run; they quote them. These
tests read the numbers from the stored outputs of the source notebooks (stored executed, refreshed by
tools/execute_notebooks.py) and fail when a quote goes stale, for example after the stand-in data
or the training changed. They also check that each "How this notebook is graded" points table adds
up to the points of the notebook's graded cells.
"""

import re

import pytest

from autograder.assignments import known_assignments, load_assignment
from autograder.notebooks import grade_id, nbgrader_metadata

SMALL_DATA = "04_small_data_convnets"
SUMMARY = re.compile(r"(?P<run>from scratch|augmentation \+ dropout): lowest validation loss at epoch (?P<best>\d+) "
                     r"of (?P<epochs>\d+), training - validation accuracy there (?P<gap>[+-]\d+\.\d\d), "
                     r"test accuracy (?P<accuracy>\d\.\d{3})")
TABLE_ROW = re.compile(r"^\| (?P<run>from scratch|augmentation \+ dropout) \| epoch (?P<best>\d+) of (?P<epochs>\d+) "
                       r"\| (?P<gap>[+-]\d+\.\d\d) \| (?P<accuracy>\d\.\d{3}) \|$", re.MULTILINE)


def _stream_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("output_type") == "stream")


def _cell(notebook, predicate, what):
    found = [cell for cell in notebook.cells if predicate(cell)]
    assert len(found) == 1, f"expected one {what}, found {len(found)}"
    return found[0]


def test_the_model_answer_quotes_the_stored_run():
    notebook = load_assignment(SMALL_DATA).source()
    summary = _cell(notebook, lambda c: c.cell_type == "code" and "lowest validation loss at epoch" in c.source,
                    "side-by-side summary cell")
    data = _cell(notebook, lambda c: c.cell_type == "code" and c.source.startswith("# NBVAL_IGNORE_OUTPUT\npet_images"),
                 "data cell")
    answer = _cell(notebook, lambda c: grade_id(c) == "written_overfitting", "model answer").source
    stored = {m["run"]: m.groupdict() for m in SUMMARY.finditer(_stream_text(summary))}
    quoted = {m["run"]: m.groupdict() for m in TABLE_ROW.finditer(answer)}
    assert set(stored) == {"from scratch", "augmentation + dropout"}, _stream_text(summary)
    assert "embedded profile" in _stream_text(data), "the stored run is not on the stand-in data the answer describes"
    assert quoted == stored, f"the model answer quotes {quoted}; the stored run printed {stored}"
    scratch, augmented = stored["from scratch"]["accuracy"], stored["augmentation + dropout"]["accuracy"]
    prose = " ".join(answer.split())
    direction = "*lower*" if float(augmented) < float(scratch) else "*raise*"
    assert f"{direction} the test accuracy here, from {scratch} to {augmented}" in prose, (
        f"the prose should say that augmentation and dropout {direction.strip('*')} the test accuracy from "
        f"{scratch} to {augmented}")
    if all(run["best"] == run["epochs"] for run in stored.values()):
        assert "no epoch at which overfitting starts" in prose, "both runs are best at their last epoch: say so"


POINTS_TABLE = re.compile(r"^\| *(?P<part>[^|]*)\|(?P<what>[^|]*)\| *(?P<points>\*{0,2}\d+\*{0,2}) *\|$", re.MULTILINE)


@pytest.mark.parametrize("assignment", known_assignments())
def test_the_points_table_adds_up(assignment):
    notebook = load_assignment(assignment).source()
    tables = [cell.source for cell in notebook.cells if cell.cell_type == "markdown" and "| Points |" in cell.source]
    if not tables:
        pytest.skip(f"{assignment} has no points table")
    rows = [(m["what"].strip(), int(m["points"].strip("*"))) for m in POINTS_TABLE.finditer(tables[0])]
    total = [points for what, points in rows if "Total" in what]
    assert len(total) == 1, rows
    graded = {grade_id(cell): nbgrader_metadata(cell).get("points", 0) for cell in notebook.cells
              if nbgrader_metadata(cell).get("grade")}
    assert total[0] == sum(graded.values()) == sum(points for what, points in rows if "Total" not in what), (
        rows, graded)
    for what, points in rows:
        names = re.findall(r"`(\w+)`", what)
        if names and f"check_{names[0]}" in graded:
            assert graded[f"check_{names[0]}"] == points, (what, points, graded[f"check_{names[0]}"])


TRANSFER = "05_transfer_learning_vgg16"
RESULT_ROW = re.compile(r"^ *(?P<method>feature extraction|feature extraction \+ augmentation|fine-tuning block 5) "
                        r"\| (?P<accuracy>\d\.\d{3}) ", re.MULTILINE)


def _side_by_side_05(notebook):
    return _cell(notebook, lambda c: c.cell_type == "code" and "LECTURES = {" in c.source, "side-by-side cell")


def test_05_the_model_answer_quotes_the_stored_run():
    notebook = load_assignment(TRANSFER).source()
    stored = {m["method"]: m["accuracy"] for m in RESULT_ROW.finditer(_stream_text(_side_by_side_05(notebook)))}
    assert len(stored) == 3, _stream_text(_side_by_side_05(notebook))
    answer = " ".join(_cell(notebook, lambda c: grade_id(c) == "written_three_results", "model answer").source.split())
    quoted = (f"feature extraction {stored['feature extraction']}, with augmentation "
              f"{stored['feature extraction + augmentation']}, fine-tuned {stored['fine-tuning block 5']}")
    assert quoted in answer, f"the model answer should quote the stored run: {quoted}"


def test_05_quotes_the_range_that_04s_measurements_give():
    """05 compares its stand-in accuracies with 04's network from scratch on several seeds: the range
    it quotes (in the side-by-side cell and the model answer) is the one 04's record holds."""
    import json

    from autograder.assignments import CHECKS
    record = json.loads((CHECKS / SMALL_DATA / "standin_lessons.json").read_text())
    accuracies = [row["from_scratch"]["test_accuracy"] for row in record["seeds"].values()]
    span = f"{min(accuracies):.2f} to {max(accuracies):.2f}"
    notebook = load_assignment(TRANSFER).source()
    assert f'"{span} (04, {len(accuracies)} seeds)"' in _side_by_side_05(notebook).source
    answer = " ".join(_cell(notebook, lambda c: grade_id(c) == "written_three_results", "model answer").source.split())
    assert f"against {span} for 04's network from scratch" in answer
