"""Hidden checks for corrected_same_table(): lecture 003's summary of the MNIST convnet with
padding="same", corrected (rows, total, and which rows the lecture got wrong)."""

import pytest

from autograder.harness import expect, expect_exact

KEYS = ["rows", "total_params", "wrong_rows"]


def _answer(student):
    table = student.call("corrected_same_table")
    expect(isinstance(table, dict) and sorted(table) == KEYS,
           "corrected_same_table() must return a dict with exactly the keys 'rows', 'total_params' and "
           f"'wrong_rows', got {type(table).__name__}"
           + (f" with keys {sorted(table)}" if isinstance(table, dict) else "") + ".", "")
    return table


@pytest.mark.target("corrected_same_table")
def test_rows(student, reference):
    rows = _answer(student)["rows"]
    expected = reference.corrected_same_table()["rows"]
    expect(isinstance(rows, (list, tuple)) and len(rows) == len(expected),
           f"corrected_same_table()['rows'] must be a list of {len(expected)} rows (name, output_shape, params), "
           f"one per layer of the lecture's table.", "")
    for row, (name, shape, params) in zip(rows, expected):
        expect(isinstance(row, (list, tuple)) and len(row) == 3,
               f"each row must be a tuple (name, output_shape, params); the row for {name} is {row!r}.", "")
        expect_exact(f"corrected_same_table(), row {name!r}: (name, output shape, parameters)",
                     tuple(row), (name, shape, params))


@pytest.mark.target("corrected_same_table")
def test_total(student, reference):
    expect_exact("corrected_same_table()['total_params'], the network's total",
                 _answer(student)["total_params"], reference.corrected_same_table()["total_params"])


@pytest.mark.target("corrected_same_table")
def test_wrong_rows(student, reference):
    got = _answer(student)["wrong_rows"]
    expect_exact("corrected_same_table()['wrong_rows'], the rows the lecture prints wrongly, in table order",
                 list(got) if isinstance(got, (list, tuple)) else got, reference.corrected_same_table()["wrong_rows"])
