"""Build submissions from the release: what a student would hand in.

Used by the demo class and by the tests (mutants, attacks). A submission starts from the
released notebook; each solution cell gets the instructor's solution, a replacement, or
stays as released (never started).
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

import nbformat

from .assignments import RELEASE, REPO_ROOT, load_assignment
from .notebooks import grade_id, is_solution_code, nbgrader_metadata

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def strip_solution_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in SOLUTION_MARKERS)


def release_notebook(assignment_id: str) -> nbformat.NotebookNode:
    assignment = load_assignment(assignment_id)
    path = RELEASE / assignment_id / f"{assignment.notebook_name}.ipynb"
    return nbformat.read(path, as_version=4)


def reference_cells(assignment_id: str) -> dict[str, str]:
    """grade_id -> the instructor's answer (code without markers, or the model written answer)."""
    answers = {}
    for cell in load_assignment(assignment_id).source().cells:
        if nbgrader_metadata(cell).get("solution") and grade_id(cell):
            answers[grade_id(cell)] = strip_solution_markers(cell.source)
    return answers


def code_only(source: str) -> str:
    """A cell's code without its docstrings and comments, so that editing a docstring trains nothing."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body \
                and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant) \
                and isinstance(node.body[0].value.value, str):
            node.body = node.body[1:] or [ast.Pass()]
    return ast.unparse(tree)


def build_submission(assignment_id: str, replacements: dict[str, str] | None = None,
                     started: bool = True, written: bool = True) -> nbformat.NotebookNode:
    """The release, answered with the reference, except for ``replacements``.

    ``started=False`` leaves every code answer as released; ``written=False`` leaves the
    written answers blank.
    """
    replacements = replacements or {}
    notebook = copy.deepcopy(release_notebook(assignment_id))
    answers = reference_cells(assignment_id)
    for cell in notebook.cells:
        gid = grade_id(cell)
        if gid in replacements:
            cell.source = replacements[gid]
        elif is_solution_code(cell) and started:
            cell.source = answers[gid]
        elif cell.cell_type == "markdown" and nbgrader_metadata(cell).get("solution") and written and started:
            cell.source = answers[gid].replace("**Model answer.**", "").strip()
    return notebook


@dataclass(frozen=True)
class Mutant:
    """A plausible wrong answer for a mutant catalogue (tests/mutants/): a correct ``base``
    cell with one textual change (``old`` -> ``new``), or a whole ``replacement`` cell.
    ``source`` fails loudly when the change no longer applies, so catalogues cannot rot."""
    target: str
    name: str
    old: str = ""
    new: str = ""
    replacement: str = ""
    base: str = ""

    @property
    def source(self) -> str:
        if self.replacement:
            return self.replacement
        if self.base.count(self.old) != 1:
            raise AssertionError(f"mutant {self.name!r}: {self.old!r} must occur once in the base of {self.target}")
        return self.base.replace(self.old, self.new)


def mutant_factory(bases: dict[str, str]):
    """``Mutant(target, name, old, new)`` with the base cell looked up in ``bases``."""
    def make(target: str, name: str, old: str = "", new: str = "", replacement: str = "") -> Mutant:
        return Mutant(target, name, old, new, replacement, bases.get(target, ""))
    return make


# The few files whose training takes minutes, committed under the same names, so that a fresh clone
# does not train them again (tests/test_committed_models.py fails when one of them is stale).
COMMITTED_MODELS = REPO_ROOT / "datasets" / "demo-models"


def cached_model_file(assignment_id: str, kind: str, key: str, make, seed: int):
    """A model file handed in by the tests and the demo class, made once per data profile.

    ``make(reference, path)`` writes the file, with the source notebook's solutions as
    ``reference``; ``key`` (a hash of the recipe and of whatever the file depends on) names the
    file, so a changed recipe makes a new one. Found under datasets/demo-models/ when committed there,
    else cached under COURSE_DATA_DIR/demo-models/<assignment>/<profile>/<kind>-<key>.keras; parallel test workers
    make each file once (a lock per kind, so a recipe may use another kind's file).
    """
    import fcntl
    import os
    import warnings

    from cnn_course.data import data_dir, data_profile

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    committed = COMMITTED_MODELS / assignment_id / data_profile() / f"{kind}-{key}.keras"
    if committed.is_file():
        return committed
    folder = data_dir() / "demo-models" / assignment_id / data_profile()
    path = folder / f"{kind}-{key}.keras"
    if path.exists():
        return path
    (folder / kind).mkdir(parents=True, exist_ok=True)
    with open(folder / kind / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            import keras

            from .grading import load_reference
            keras.utils.set_random_seed(seed)
            partial = folder / f".{path.name}.partial.keras"
            partial.unlink(missing_ok=True)
            print(f"Making {assignment_id}'s {kind!r} model file (once; cached as {path})", flush=True)
            with warnings.catch_warnings():  # fit() on a tf.data dataset warns that shuffle does nothing
                warnings.filterwarnings("ignore", message=r"`shuffle=True` was passed")
                make(load_reference(assignment_id), partial)
            os.replace(partial, path)
    return path
