"""Public checks accept what the hidden checks accept.

Every mutant catalogue (tests/mutants/<name>.py) lists right answers written differently
(``VARIANTS``) and an independently written correct cell per graded function (``BASE``); the
hidden checks give all of them full marks (tests/test_mutants.py). Here each of them goes through
the public check cell of its function in the source notebook (``check_<function>``), run the way a
student runs it: after the setup cell and the ordinary cells the check cell needs. A check cell that
rejects a right answer the grader accepts (a loss compared by its name only, activations written as
layers of their own, layers in an order the grader allows) fails this test.

Which cells a check cell needs is worked out from the names it uses: walking back through the
notebook, a cell is run if it binds a name that is still needed, and then the names it uses are
needed too. So a check cell of section 7 does not pay for the training of section 5 unless it uses
what that cell made. Solution cells are run with the instructor's code, except the one under test.

As a control that the check cells really call the function, the released stub of each function
(``raise NotImplementedError()``, as nbgrader writes it) must fail its check cell.

The catalogues are discovered, so a new assignment's catalogue is covered without editing this file.
All cells of one assignment run in one Python process (one Keras start-up), each case in a fresh
namespace.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib.util
import json
import os
import re
import subprocess
import textwrap
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.notebooks import SubmissionError
from autograder.submissions import grade_id, load_assignment, nbgrader_metadata

REPO = Path(__file__).resolve().parent.parent
CATALOGUE_DIR = Path(__file__).parent / "mutants"
BUILTINS = set(dir(builtins)) | {"__name__", "__file__", "display", "get_ipython"}
SECONDS_PER_ASSIGNMENT = 900


def _load(path):
    spec = importlib.util.spec_from_file_location(f"public_checks_catalogue_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGUES = {module.ASSIGNMENT: module for module in map(_load, sorted(CATALOGUE_DIR.glob("*.py")))
              if getattr(module, "VARIANTS", None) or getattr(module, "BASE", None)}


def _code(source: str) -> str:
    """A cell's Python: IPython magics and shell lines dropped, as the grader drops them."""
    return "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _names(source: str) -> tuple[set, set]:
    """(names the cell binds, names it reads), over-approximated: nested scopes count as the cell's."""
    bound, used = set(), set()
    for node in ast.walk(ast.parse(_code(source))):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else used).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return bound, used


def _code_cells(assignment: str) -> list[tuple[str | None, str]]:
    """(grade_id or None, source) of every code cell of the source notebook, in order."""
    return [(grade_id(cell), cell.source) for cell in load_assignment(assignment).source().cells
            if cell.cell_type == "code"]


def _slice(cells, check_index: int) -> list[int]:
    """Indices of the cells the check cell needs, itself last, in notebook order."""
    bound, used = _names(cells[check_index][1])
    needed = used - bound - BUILTINS
    chosen = []
    for index in range(check_index - 1, -1, -1):
        gid, source = cells[index]
        cell_bound, cell_used = _names(source)
        setup = gid == "setup"
        if setup or cell_bound & needed:
            chosen.append(index)
            needed = (needed - cell_bound) | (cell_used - cell_bound - BUILTINS)
    return sorted(chosen) + [check_index]


def _stubs(assignment: str) -> dict:
    """grade_id -> each graded function's cell as released: its solution replaced by nbgrader's stub."""
    stub = "# YOUR CODE HERE\nraise NotImplementedError()"
    fence = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?^[ \t]*### END SOLUTION[ \t]*$", re.M | re.S)
    return {grade_id(cell): fence.sub(lambda m: textwrap.indent(stub, m["indent"]), cell.source)
            for cell in load_assignment(assignment).source().cells
            if cell.cell_type == "code" and nbgrader_metadata(cell).get("solution") and grade_id(cell)}


def _cases(assignment: str) -> list[tuple[str, str, str, bool]]:
    """(target, name, source, should pass) for every right answer of the catalogue, and the stubs."""
    catalogue = CATALOGUES[assignment]
    cases = [(target, f"variant: {name}", source, True)
             for target, variants in getattr(catalogue, "VARIANTS", {}).items() for name, source in variants.items()]
    cases += [(target, "the catalogue's base", source, True) for target, source in getattr(catalogue, "BASE", {}).items()]
    checked = {gid for gid, _ in _code_cells(assignment) if gid and gid.startswith("check_")}
    stubs = _stubs(assignment)
    cases += [(target, "the released stub (control)", stubs[target], False)
              for target in sorted({case[0] for case in cases}) if target in stubs]
    return [case for case in cases if f"check_{case[0]}" in checked]


def _params():
    for assignment in sorted(CATALOGUES):
        try:
            cases = _cases(assignment)
        except SubmissionError as error:  # a catalogue written before its notebook: nothing to run yet
            yield pytest.param(assignment, None, None, id=f"{assignment}:no notebook",
                               marks=pytest.mark.skip(reason=str(error)))
            continue
        for target, name, _, _ in cases:
            yield pytest.param(assignment, target, name, id=f"{assignment}:{target}:{name}")


DRIVER = r'''
import contextlib, io, json, os, sys, traceback
os.environ.setdefault("MPLBACKEND", "Agg")
jobs = json.load(sys.stdin)
results = []
for job in jobs:
    namespace = {"__name__": "__main__"}
    try:
        from IPython.display import display
        namespace["display"] = display
    except ImportError:
        namespace["display"] = print
    output = io.StringIO()
    failed_in, error = None, None
    for label, source in job["cells"]:
        try:
            with contextlib.redirect_stdout(output):
                exec(compile(source, f"<{label}>", "exec"), namespace)
        except BaseException as exception:
            failed_in = label
            error = "".join(traceback.format_exception_only(type(exception), exception)).strip()
            break
    try:
        import matplotlib.pyplot as plt
        plt.close("all")
    except ImportError:
        pass
    results.append({"failed_in": failed_in, "error": error, "output": output.getvalue()[-3000:]})
print("RESULTS " + json.dumps(results))
'''


@functools.lru_cache(maxsize=None)
def _run(assignment: str) -> dict:
    """(target, name) -> what happened when the case's check cell ran; one process per assignment."""
    cells = _code_cells(assignment)
    index_of = {gid: index for index, (gid, _) in enumerate(cells) if gid}
    jobs, keys = [], []
    for target, name, source, _ in _cases(assignment):
        check = index_of[f"check_{target}"]
        run = []
        for index in _slice(cells, check):
            gid, cell_source = cells[index]
            label = f"cell {index}" + (f" ({gid})" if gid else "")
            run.append((label, _code(source if gid == target else cell_source)))
        if index_of[target] not in _slice(cells, check):  # the check cell calls it: run it all the same
            run.insert(-1, (f"cell {index_of[target]} ({target})", _code(source)))
        jobs.append({"cells": run})
        keys.append((target, name))
    env = dict(os.environ, MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    with tempfile.TemporaryDirectory(prefix=f"public-checks-{assignment}-") as scratch:
        process = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(jobs), capture_output=True,
                                 text=True, cwd=scratch, env=env, timeout=SECONDS_PER_ASSIGNMENT)
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULTS ")]
    assert lines, f"the check cells of {assignment} did not run:\n{process.stdout[-2000:]}\n{process.stderr[-3000:]}"
    return dict(zip(keys, json.loads(lines[-1][len("RESULTS "):])))


def test_every_catalogue_is_covered():
    """Each catalogue with right answers has public check cells to run them through."""
    assert CATALOGUES, "no mutant catalogue found"
    for assignment in CATALOGUES:
        try:
            cases = _cases(assignment)
        except SubmissionError:
            continue  # no notebook yet: test_public_check_cell says so
        assert any(ok for *_, ok in cases), f"{assignment}: no right answer has a public check cell"


def test_the_slice_of_a_check_cell_skips_unrelated_cells():
    """The dependency walk keeps what a check cell uses and drops the rest."""
    cells = [("setup", "import numpy as np"), (None, "data = np.arange(3)\nunused = 1"),
             (None, "expensive = train(data)"), ("f", "def f(x):\n    return x"),
             ("check_f", "assert (f(data) == data).all()")]
    assert _slice(cells, 4) == [0, 1, 3, 4]


@pytest.mark.parametrize("assignment, target, name", list(_params()))
def test_public_check_cell(assignment, target, name):
    should_pass = next(ok for t, n, _, ok in _cases(assignment) if (t, n) == (target, name))
    result = _run(assignment)[(target, name)]
    if should_pass:
        assert result["failed_in"] is None, (
            f"{assignment}: the public checks reject a right answer that the hidden checks accept "
            f"({target}, {name}): {result['failed_in']} raised {result['error']}\n{result['output']}")
    else:
        assert (result["failed_in"] or "").endswith(f"(check_{target})") \
            and "NotImplementedError" in (result["error"] or ""), (
            f"{assignment}: the released stub of {target} should fail its check cell with NotImplementedError; "
            f"got {result['failed_in']}: {result['error']}")
