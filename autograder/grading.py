"""Grade one submission: a pipeline of small steps.

    load assignment -> read notebook -> pick cells -> read code for forbidden calls
    -> run hidden checks (pytest, here) against the student (sandbox) -> apply policy
    -> result

The hidden checks, the reference and the scores live in this process; the student's
code runs only in the sandbox.
"""

from __future__ import annotations

import datetime
import functools
import os
import platform
import sys
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from cnn_course.checks import CheckFailed

from . import harness
from .assignments import REPO_ROOT, Assignment, load_assignment
from .notebooks import SubmissionError, cells_to_run, grade_id, is_grader_setup, is_solution_code, read_notebook
from .sandbox.launcher import SandboxConfig, available_isolation
from .sandbox.session import StudentSession
from .secret import case_seed, course_secret, secret_path, submission_digest
from .static_checks import forbidden_uses

GRADER_VERSION = "1.0"
INTERNAL_ERROR_MESSAGE = ("The grader could not run this check (an internal error, not a problem with "
                          "your code). Your TA has the details and will regrade.")


@dataclass
class Submission:
    assignment: Assignment
    path: Path | None
    cells: list[dict]
    missing_cells: list[str]
    forbidden: dict[str, list[str]] = field(default_factory=dict)


# -- steps -------------------------------------------------------------------------------

MAX_CODE_BYTES = 4 << 20


def prepare(assignment_id: str, notebook_path: Path) -> Submission:
    assignment = load_assignment(assignment_id)
    submission = read_notebook(notebook_path)
    cells, missing = cells_to_run(submission, assignment.source(), assignment.targets)
    size = sum(len(c["source"].encode("utf-8", "replace")) for c in cells)
    if size > MAX_CODE_BYTES:
        raise SubmissionError(f"{notebook_path}: the cells the grader runs hold {size / 2**20:.1f} MB of code; the "
                              f"limit is {MAX_CODE_BYTES >> 20} MB. Ask the student to move data out of the "
                              "solution cells (load it from a file instead) and submit again.")
    student_cells = [c for c in cells if c["id"] != "setup"]
    forbidden = forbidden_uses(student_cells, list(assignment.targets), assignment.forbidden_modules)
    return Submission(assignment, Path(notebook_path), cells, missing, forbidden)


@functools.lru_cache(maxsize=None)
def load_reference(assignment_id: str) -> types.SimpleNamespace:
    """The instructor's functions, from the source notebook, run in this trusted process."""
    assignment = load_assignment(assignment_id)
    namespace: dict = {"__name__": f"reference_{assignment_id}"}
    for cell in assignment.source().cells:
        if is_grader_setup(cell) or (is_solution_code(cell) and grade_id(cell) in assignment.targets):
            exec(compile(cell.source, f"<reference {grade_id(cell)}>", "exec"), namespace)
    return types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


MAX_ARTIFACT_BYTES = 512 << 20


def handed_in_artifacts(assignment: Assignment, notebook_path: Path) -> list[Path]:
    """The assignment's declared files (trained models) found next to the notebook."""
    found = []
    for name in assignment.artifacts:
        path = Path(notebook_path).parent / name
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_ARTIFACT_BYTES:
            found.append(path)
    return found


def sandbox_config(assignment: Assignment, hidden: list[Path], artifacts: list[Path] = ()) -> SandboxConfig:
    secret = [REPO_ROOT / name for name in ("solutions", "autograder", "tests", ".git")]
    return SandboxConfig(hidden_paths=secret + list(hidden), limits=assignment.limits,
                         artifacts=list(artifacts))


class _Collector:
    """pytest plugin: provides the fixtures and records one result per hidden check."""

    def __init__(self, submission: Submission, session: StudentSession):
        self.submission = submission
        self.session = session
        self.results: list[dict] = []
        self.internal_errors: list[str] = []
        self.seconds: dict[str, float] = {}  # check -> wall time of its setup, call and teardown
        self.proxy: harness.StudentProxy | None = None

    def pytest_configure(self, config):
        # pytest's own report of a failed check ("long" style) parses the source file of every frame,
        # Keras's included: about 1 s per failed check, for a report nobody reads (an internal error
        # keeps its traceback in _result). The native style is Python's traceback module.
        config.option.tbstyle = "native"

    @pytest.fixture(scope="session")
    def student(self):
        proxy = harness.StudentProxy(self.session, self.submission.assignment.forbidden_reason)
        if not self.submission.assignment.forbidden_modules:  # a Keras assignment: models to describe
            proxy.warm_clean_worker()
        self.proxy = proxy
        yield proxy
        proxy.close()

    @pytest.fixture(scope="session")
    def reference(self):
        return load_reference(self.submission.assignment.id)

    @pytest.fixture(scope="session")
    def assignment(self):
        return self.submission.assignment

    @pytest.fixture(scope="session")
    def floors(self):
        """Minimum scores for trained work, for the data profile in use (datasets/ manifest)."""
        from cnn_course.data import data_profile
        profile = data_profile()
        return types.SimpleNamespace(profile=profile, **self.submission.assignment.floors.get(profile, {}))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        self.seconds[item.name] = self.seconds.get(item.name, 0.0) + report.duration
        if report.when == "setup":
            harness.take_notes()
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self.results.append(self._result(item, call, report))

    def _result(self, item, call, report) -> dict:
        marker = item.get_closest_marker("target")
        target = marker.args[0] if marker and marker.args else None
        weight = marker.kwargs.get("weight", 1.0) if marker else 1.0
        notes = harness.take_notes()
        entry = {"name": item.name, "target": target, "weight": float(weight)}
        error = call.excinfo.value if call.excinfo else None
        if report.outcome == "passed":
            entry.update(status="passed", message="; ".join(notes) or "passed")
        elif isinstance(error, CheckFailed):
            entry.update(status="failed", message=str(error))
        elif isinstance(error, harness.StudentFailure):
            entry.update(status=error.status, message=error.message)
        else:
            entry.update(status="error", message=INTERNAL_ERROR_MESSAGE, internal=True)
            detail = "".join(traceback.format_exception(error)) if error else str(report.longrepr)
            self.internal_errors.append(f"{item.nodeid}:\n{detail}")
        if target is None or target not in self.submission.assignment.targets:
            entry.update(status="error", message=INTERNAL_ERROR_MESSAGE, internal=True)
            self.internal_errors.append(f"{item.nodeid}: no known @pytest.mark.target")
        return entry


def _forget_modules_under(folder: Path) -> None:
    for name, module in list(sys.modules.items()):
        origin = getattr(module, "__file__", None) or ""
        if origin.startswith(str(folder) + os.sep):
            del sys.modules[name]


def run_hidden_checks(submission: Submission, session: StudentSession) -> _Collector:
    collector = _Collector(submission, session)
    checks = submission.assignment.checks_dir
    # rootdir is the checks root, so module names carry the assignment (no clash between
    # assignments' test_cost.py); the modules are dropped afterwards, so every grading starts
    # from the same module state (seeded generators) whatever was graded before in this process.
    # The checks use no bare assert (expect* say what they compared), so no assertion rewriting (1 s a
    # grading); unraisableexception would run gc.collect five times at the end (2 s, more in a full heap).
    args = [str(checks), "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "no:randomly",
            "-p", "no:xdist", "-p", "no:nbval", "-p", "no:unraisableexception", "--assert=plain",
            "--import-mode=importlib", "--rootdir", str(checks.parent),
            "-c", str(checks.parent / "pytest.ini"), "-o", "python_files=test_*.py"]
    try:
        code = pytest.main(args, plugins=[collector])
    finally:
        _forget_modules_under(checks)
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        collector.internal_errors.append(f"pytest exited with {code!r} while running hidden checks")
    return collector


def apply_points(submission: Submission, results: list[dict]) -> list[dict]:
    """Split each target's points over its checks by weight; then apply policy.

    Each test keeps its ``weight``; target totals are computed from weights (see
    ``target_summary``) so that a full score is exact, not a sum of rounded shares.
    """
    targets = submission.assignment.targets
    totals: dict[str, float] = {}
    for entry in results:
        if entry["target"] in targets:
            totals[entry["target"]] = totals.get(entry["target"], 0.0) + entry["weight"]
    tests = []
    for entry in results:
        target = entry["target"]
        share = entry["weight"] / totals[target] if target in totals else 0.0
        max_points = targets[target]["points"] * share if target in targets else 0.0
        passed = entry["status"] == "passed"
        tests.append({"name": entry["name"], "target": target, "points": round(max_points if passed else 0.0, 4),
                      "max_points": round(max_points, 4), "status": entry["status"],
                      "message": entry["message"], "share": share if passed else 0.0})
    for target, names in submission.forbidden.items():
        reason = submission.assignment.forbidden_reason
        for test in tests:
            if test["target"] == target:
                test["points"], test["share"] = 0.0, 0.0
        tests.append({"name": f"{target}: allowed libraries", "target": target, "points": 0.0,
                      "max_points": 0.0, "status": "failed", "share": 0.0,
                      "message": f"{target} uses {', '.join(names)}. {reason} So {target} scores zero."})
    for target, info in targets.items():
        if target not in totals:
            tests.append({"name": f"{target}: hidden checks", "target": target, "points": 0.0,
                          "max_points": info["points"], "status": "error", "share": 0.0,
                          "message": INTERNAL_ERROR_MESSAGE})
    return tests


def environment(isolation: str) -> dict:
    from .device import grading_device
    device = grading_device(os.environ)  # COURSE_GRADING_DEVICE overrides; never imports TensorFlow
    return {
        "grader_version": GRADER_VERSION,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": device["kind"],
        "device_info": device,
        "isolation": isolation,
        "graded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def target_summary(tests: list[dict], assignment: Assignment) -> dict:
    summary = {}
    for target, info in assignment.targets.items():
        mine = [t for t in tests if t["target"] == target]
        share = sum(t["share"] for t in mine)
        if assignment.scoring == "all_or_nothing" and any(t["status"] != "passed" for t in mine):
            share = 0.0
        summary[target] = {"points": round(info["points"] * min(share, 1.0), 4),
                           "max_points": info["points"], "cell": info["cell"]}
    return summary


def grade_submission(assignment_id: str, notebook_path: Path, hidden_paths: list[Path] = (),
                     course_root: Path | None = None, secret: bytes | None = None) -> dict:
    """``course_root`` holds the course secret (default: the repository, the default course);
    a grading worker of a class run is given the ``secret`` itself instead."""
    submission = prepare(assignment_id, notebook_path)
    assignment = submission.assignment
    course_root = Path(course_root or REPO_ROOT)
    secret = secret or course_secret(course_root)
    artifacts = handed_in_artifacts(assignment, notebook_path)
    config = sandbox_config(assignment, [*hidden_paths, secret_path(course_root)], artifacts)
    harness.begin_grading(secret, case_seed(secret, submission_digest(submission.cells, artifacts)))
    started = time.monotonic()
    try:
        with StudentSession(submission.cells, config, assignment.forbidden_modules) as session:
            collector = run_hidden_checks(submission, session)
            stdout, stderr = session.output()
            isolation = session.isolation or available_isolation()
            isolation_note = session.isolation_note
            cell_reports = {cid: r.__dict__ for cid, r in session.cell_reports.items()}
            sandbox_log = list(session.events)
            timing = {"total_seconds": 0.0, "student_worker": harness.session_timing(session),
                      "clean_worker": collector.proxy.clean_timing if collector.proxy else {},
                      "checks_seconds": {name: round(t, 2) for name, t in collector.seconds.items()}}
    finally:
        harness.end_grading()
    timing["total_seconds"] = round(time.monotonic() - started, 2)
    tests = apply_points(submission, collector.results)
    targets = target_summary(tests, assignment)
    for test in tests:
        del test["share"]
        if test["target"] in targets and targets[test["target"]]["points"] == 0:
            test["points"] = 0.0
    return {
        "assignment_id": assignment_id,
        "submission": str(notebook_path),
        "score": round(sum(t["points"] for t in targets.values()), 4),
        "max_score": assignment.max_score,
        "scoring": assignment.scoring,
        "targets": targets,
        "tests": tests,
        "cells": cell_reports,
        "missing_cells": submission.missing_cells,
        "student_output": {"stdout": stdout[-4000:], "stderr": stderr[-4000:]},
        "isolation_note": isolation_note,
        "environment": environment(isolation),
        "grader_log": collector.internal_errors,
        "sandbox_log": sandbox_log,  # for the TA: crashes, signals and limits the grader saw
        "timing": timing,  # where the grading's wall time went (make bench prints it)
    }


def main_error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
