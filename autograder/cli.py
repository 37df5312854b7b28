"""Command line: ``python -m autograder <command>``.

    grade ASSIGNMENT NOTEBOOK [--json RESULT]   grade one submission
    grade-class ASSIGNMENT [--course DIR]       grade submitted/*/ASSIGNMENT in parallel, then
                                                record the scores with nbgrader autograde
    demo                                        the whole TA flow on a demo class, offline
    list                                        the assignments the grader knows
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .notebooks import SubmissionError

EXIT_BAD_INPUT = 2


def _grade(args) -> int:
    from .grading import grade_submission
    from .report import summary

    result = grade_submission(args.assignment, Path(args.notebook), course_root=Path(args.course))
    if args.json:
        from .nbgrader_plugin import save_result
        save_result(Path(args.json), result)
    print(summary(result))
    if result["grader_log"]:
        print(f"\nNote for the TA: {len(result['grader_log'])} internal grader error(s); see "
              f"'grader_log' in the JSON result.", file=sys.stderr)
    for line in result.get("sandbox_log", []):
        print(f"Note for the TA: {line}", file=sys.stderr)
    return 0


def _grade_class(args) -> int:
    from .classroom import grade_class
    return grade_class(args.assignment, Path(args.course), workers=args.workers,
                       run_nbgrader=not args.no_nbgrader, force=args.force, scheduler=args.scheduler,
                       engine=args.engine, progress=not args.no_progress)


def _demo(args) -> int:
    from .demo import run_demo
    return run_demo(Path(args.directory), workers=args.workers)


def _list(args) -> int:
    from .assignments import known_assignments, load_assignment
    for assignment_id in known_assignments():
        assignment = load_assignment(assignment_id)
        targets = ", ".join(f"{t} ({i['points']:g})" for t, i in assignment.targets.items())
        print(f"{assignment_id}: {assignment.max_score:g} autograded points: {targets}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="grade one submission")
    grade.add_argument("assignment", help="assignment id, e.g. 01_convolution_by_hand")
    grade.add_argument("notebook", help="the submitted .ipynb")
    grade.add_argument("--json", metavar="RESULT", help="write the result as JSON to this file")
    grade.add_argument("--course", default=".",
                       help="course directory, which holds the course secret .grader-secret (default: here)")
    grade.set_defaults(run=_grade)
    klass = commands.add_parser("grade-class", help="grade every submission of an assignment")
    klass.add_argument("assignment")
    klass.add_argument("--course", default=".", help="nbgrader course directory (default: here)")
    klass.add_argument("--workers", type=int, default=None,
                       help="workers of the local cluster (default: one per core)")
    klass.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on an existing Dask cluster, e.g. tcp://grader1:8786 (see the README)")
    klass.add_argument("--engine", choices=("dask", "serial", "pool"), default="dask",
                       help="dask (default), serial (this process, one at a time) or pool (local processes)")
    klass.add_argument("--force", action="store_true",
                       help="grade every submission again, ignoring cached results; re-record them in nbgrader")
    klass.add_argument("--no-progress", action="store_true", help="no progress bar")
    klass.add_argument("--no-nbgrader", action="store_true",
                       help="only write the JSON results; do not run nbgrader autograde")
    klass.set_defaults(run=_grade_class)
    demo = commands.add_parser("demo", help="release, grade a demo class, feedback, grades.csv")
    demo.add_argument("--directory", default="build/demo")
    demo.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    demo.set_defaults(run=_demo)
    listing = commands.add_parser("list", help="list the assignments")
    listing.set_defaults(run=_list)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except SubmissionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
