"""Grade a whole class: parallel sandboxed grading, then nbgrader's bookkeeping.

nbgrader's own ``autograde`` handles one student after another. Here the expensive part
(running hidden checks against each student's sandbox) runs in parallel worker
processes first; ``nbgrader autograde`` then records the scores in the gradebook, reusing
those results (see ``nbgrader_plugin``).
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import time
from pathlib import Path

from .assignments import load_assignment
from .notebooks import SubmissionError
from .release import nbgrader_command


def find_submissions(course_root: Path, assignment_id: str) -> dict[str, Path]:
    """student id -> submitted notebook, from nbgrader's submitted/<student>/<assignment>/."""
    assignment = load_assignment(assignment_id)
    submitted = course_root / "submitted"
    found = {}
    for student_dir in sorted(submitted.glob(f"*/{assignment_id}")):
        found[student_dir.parent.name] = student_dir / f"{assignment.notebook_name}.ipynb"
    return found


def _grade_one(assignment_id: str, student_id: str, path: str, course_root: str) -> tuple[str, dict | str]:
    from .nbgrader_plugin import grade_notebook
    from .notebooks import read_notebook
    try:
        notebook = read_notebook(Path(path))
    except SubmissionError as error:
        return student_id, str(error)
    return student_id, grade_notebook(notebook, assignment_id, student_id, Path(course_root))


def grade_all(assignment_id: str, course_root: Path, workers: int) -> dict[str, dict | str]:
    submissions = find_submissions(course_root, assignment_id)
    if not submissions:
        raise SubmissionError(f"no submissions for {assignment_id} under {course_root / 'submitted'}. "
                              f"Collect them first (nbgrader collect {assignment_id}, or zip_collect).")
    results: dict[str, dict | str] = {}
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, workers), mp_context=context) as pool:
        futures = [pool.submit(_grade_one, assignment_id, student, str(path), str(course_root))
                   for student, path in submissions.items()]
        for future in concurrent.futures.as_completed(futures):
            student, result = future.result()
            results[student] = result
    return dict(sorted(results.items()))


def score_table(results: dict[str, dict | str]) -> str:
    lines = []
    targets = next((list(r["targets"]) for r in results.values() if isinstance(r, dict)), [])
    header = f"{'student':12} {'score':>11}  " + "  ".join(t[:10].rjust(10) for t in targets)
    lines.append(header)
    lines.append("-" * len(header))
    for student, result in results.items():
        if isinstance(result, str):
            lines.append(f"{student:12} {'not graded':>11}  {result[:60]}")
            continue
        cells = "  ".join(f"{result['targets'][t]['points']:g}/{result['targets'][t]['max_points']:g}".rjust(10)
                          for t in targets)
        lines.append(f"{student:12} {result['score']:>5g}/{result['max_score']:<5g}  {cells}")
    return "\n".join(lines)


def grade_class(assignment_id: str, course_root: Path, workers: int, run_nbgrader: bool = True,
                force: bool = False) -> int:
    started = time.perf_counter()
    results = grade_all(assignment_id, course_root, workers)
    elapsed = time.perf_counter() - started
    print(score_table(results))
    print(f"\nGraded {len(results)} submissions of {assignment_id} with {workers} worker(s) "
          f"in {elapsed:.1f} s; results in {course_root / 'autograder-results' / assignment_id}")
    if run_nbgrader:
        nbgrader_command(course_root, "autograde", assignment_id, *(["--force"] if force else []))
        print("Scores recorded in the gradebook (nbgrader autograde).")
    return 0
