"""Grade a whole class: the gradings on an engine (Dask by default), then nbgrader's bookkeeping.

    find submissions -> one task per student (or a "not graded" line) -> reuse what is cached
    -> run the rest on the engine, with a progress bar -> save each JSON result
    -> nbgrader autograde, protected so that one student's broken notebook costs that student only
    -> a closing summary

A fault costs one student, never the class: a malformed notebook, a worker that dies, a grading
past its deadline or a bug in the grader becomes a "not graded" line with the reason, and the
rest of the class is graded and recorded.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .assignments import load_assignment
from .engines import NOT_GRADED, Engine, GradingTask, make_engine
from .notebooks import SubmissionError, grade_id, read_notebook
from .release import nbgrader_command

DEFAULT_DEADLINE_SECONDS = 1800.0


def find_submissions(course_root: Path, assignment_id: str) -> dict[str, Path]:
    """student id -> submitted notebook, from nbgrader's submitted/<student>/<assignment>/."""
    assignment = load_assignment(assignment_id)
    submitted = course_root / "submitted"
    found = {}
    for student_dir in sorted(submitted.glob(f"*/{assignment_id}")):
        found[student_dir.parent.name] = student_dir / f"{assignment.notebook_name}.ipynb"
    return found


@dataclass
class ClassRun:
    """What a class run did, for the closing summary."""
    results: dict[str, dict | str] = field(default_factory=dict)  # student -> result, or why not graded
    reused: set[str] = field(default_factory=set)
    gradebook_problems: dict[str, str] = field(default_factory=dict)
    engine: str = ""
    seconds: float = 0.0
    token: str = field(default_factory=lambda: secrets.token_hex(8))  # marks the results this run made


def _prepare(assignment_id: str, student: str, path: Path, course_root: Path, secret: bytes,
             deadline: float) -> tuple[GradingTask | None, str, str]:
    """(task, cache digest, why not graded): reading and checking happen here, on the TA's side."""
    from .nbgrader_plugin import submission_hash, submitted_files
    assignment = load_assignment(assignment_id)
    if not path.is_file():
        others = sorted(p.name for p in path.parent.glob("*.ipynb"))
        return None, "", (f"no {path.name} in {path.parent}" + (f" (found {', '.join(others)}: ask the student to "
                                                                 f"hand in the released notebook under its name)"
                                                                 if others else ""))
    try:
        notebook = read_notebook(path)
        duplicated = duplicated_cells(notebook)
        if duplicated:
            return None, "", duplicated
        files = submitted_files(course_root, assignment_id, student)
        digest = submission_hash(notebook, assignment_id, files, secret)
    except SubmissionError as error:
        return None, "", str(error)
    from cnn_course.data import data_profile
    task = GradingTask(assignment_id, student, path.read_bytes(), {f.name: f.read_bytes() for f in files},
                       secret=secret, data_profile=data_profile(), deadline_seconds=deadline,
                       needs_gpu=assignment.needs_gpu)
    return task, digest, ""


def duplicated_cells(notebook) -> str:
    """A message for the TA when a graded cell appears twice (copied in JupyterLab), else ''."""
    counts = Counter(grade_id(cell) for cell in notebook.cells if grade_id(cell))
    twice = sorted(gid for gid, n in counts.items() if n > 1)
    if not twice:
        return ""
    return (f"cell {twice[0]!r} appears {counts[twice[0]]} times (copied in JupyterLab?)"
            + (f", and {len(twice) - 1} more" if len(twice) > 1 else "")
            + ": delete the copy in the student's notebook, keeping the one with the answer, and re-run grade-class")


def grade_all(assignment_id: str, course_root: Path, engine: Engine, force: bool = False,
              progress: bool = True, deadline: float = DEFAULT_DEADLINE_SECONDS) -> ClassRun:
    from tqdm import tqdm

    from .nbgrader_plugin import cached_result, result_path, save_result
    from .secret import course_secret

    submissions = find_submissions(course_root, assignment_id)
    if not submissions:
        raise SubmissionError(f"no submissions for {assignment_id} under {course_root / 'submitted'}. "
                              f"Collect them first (nbgrader collect {assignment_id}, or zip_collect).")
    run = ClassRun(engine=engine.describe())
    secret = course_secret(course_root)
    tasks, digests = [], {}
    for student, path in submissions.items():
        task, digest, problem = _prepare(assignment_id, student, path, course_root, secret, deadline)
        if task is None:
            run.results[student] = problem
            continue
        cached = None if force else cached_result(result_path(course_root, assignment_id, student), digest)
        if cached is not None:
            run.results[student] = cached
            run.reused.add(student)
            continue
        tasks.append(task)
        digests[student] = digest
    started = time.perf_counter()
    with tqdm(total=len(tasks), desc=f"Grading {assignment_id}", unit="student", disable=not progress or not tasks,
              file=sys.stderr, dynamic_ncols=True) as bar:
        for task, result in engine.run(tasks):
            student = task.student_id
            if NOT_GRADED in result:
                run.results[student] = result[NOT_GRADED]
            else:
                result["submission"] = f"{student}/{assignment_id}"
                result["submission_sha256"] = digests[student]
                result["class_run"] = run.token
                save_result(result_path(course_root, assignment_id, student), result)
                run.results[student] = result
            bar.update(1)
    run.seconds = time.perf_counter() - started
    run.results = dict(sorted(run.results.items()))
    return run


def score_table(results: dict[str, dict | str]) -> str:
    lines = []
    targets = next((list(r["targets"]) for r in results.values() if isinstance(r, dict)), [])
    header = f"{'student':12} {'score':>11}  " + "  ".join(t[:10].rjust(10) for t in targets)
    lines.append(header)
    lines.append("-" * len(header))
    for student, result in results.items():
        if isinstance(result, str):
            lines.append(f"{student:12} {'not graded':>11}  {result[:200]}")
            continue
        cells = "  ".join(f"{result['targets'][t]['points']:g}/{result['targets'][t]['max_points']:g}".rjust(10)
                          for t in targets)
        lines.append(f"{student:12} {result['score']:>5g}/{result['max_score']:<5g}  {cells}")
    return "\n".join(lines)


def record_in_gradebook(course_root: Path, assignment_id: str, run: ClassRun, force: bool) -> None:
    """nbgrader autograde for the graded students; one student's failure costs only that student.

    Students who were not graded are left out (``CourseDirectory.student_id_exclude``). If nbgrader
    still fails, each student is recorded on their own, and the ones that fail are reported."""
    graded = [s for s, r in run.results.items() if isinstance(r, dict)]
    skipped = [s for s, r in run.results.items() if not isinstance(r, dict)]
    if not graded:
        return
    from .nbgrader_plugin import CLASS_RUN_VARIABLE
    extra = ["--force"] if force else []
    this_run = {CLASS_RUN_VARIABLE: run.token}  # record this run's results, never grade them again
    try:
        nbgrader_command(course_root, "autograde", assignment_id, *extra,
                         *([f"--CourseDirectory.student_id_exclude={','.join(skipped)}"] if skipped else []),
                         env=this_run)
        return
    except RuntimeError:
        pass
    for student in graded:
        try:
            nbgrader_command(course_root, "autograde", assignment_id, "--student", student, *extra, env=this_run)
        except RuntimeError as error:
            last = [line for line in str(error).splitlines() if line.strip()][-1:] or [""]
            run.gradebook_problems[student] = (f"nbgrader autograde failed for this student ({last[0][:200]}); "
                                               f"run `nbgrader autograde {assignment_id} --student {student}` "
                                               "to see the whole message")


def summary(run: ClassRun, assignment_id: str, course_root: Path) -> str:
    results = run.results
    graded = [r for r in results.values() if isinstance(r, dict)]
    not_graded = {s: r for s, r in results.items() if isinstance(r, str)}
    internal = sum(1 for r in graded if r.get("grader_log"))
    isolation = sorted({r["environment"]["isolation"] for r in graded if "environment" in r})
    lines = [f"{assignment_id}: {len(graded)} graded ({len(run.reused)} reused from earlier runs), "
             f"{len(not_graded)} not graded, {internal} with internal grader errors; "
             f"isolation {', '.join(isolation) or 'n/a'}; {run.engine}; {run.seconds:.1f} s",
             f"results in {course_root / 'autograder-results' / assignment_id}"]
    for student, reason in not_graded.items():
        lines.append(f"  not graded: {student}: {reason}")
    for student, problem in run.gradebook_problems.items():
        lines.append(f"  not in the gradebook: {student}: {problem}")
    return "\n".join(lines)


def grade_class(assignment_id: str, course_root: Path, workers: int | None = None, run_nbgrader: bool = True,
                force: bool = False, scheduler: str | None = None, engine: str = "dask",
                progress: bool = True) -> int:
    load_assignment(assignment_id)  # an unknown assignment is refused before any cluster starts
    with make_engine(engine, workers=workers, scheduler=scheduler) as running:
        run = grade_all(assignment_id, course_root, running, force=force, progress=progress)
    print(score_table(run.results))
    if run_nbgrader:
        record_in_gradebook(course_root, assignment_id, run, force)
    text = summary(run, assignment_id, course_root)
    print()
    print(text)
    folder = course_root / "autograder-results" / assignment_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.txt").write_text(text + "\n")
    return 0
