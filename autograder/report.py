"""Words for people: the grading result as a student or a TA reads it."""

from __future__ import annotations

import textwrap

MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT"}


def _points(value: float) -> str:
    return f"{value:g}"


def _wrapped(mark: str, message: str, width: int = 100) -> str:
    return textwrap.fill(message, width=width, initial_indent=f"  {mark:7} ", subsequent_indent=" " * 10,
                         break_long_words=False, break_on_hyphens=False)


def target_block(result: dict, target: str) -> str:
    """The hidden checks of one graded function: failures first, each wrapped to read easily."""
    info = result["targets"][target]
    tests = [t for t in result["tests"] if t["target"] == target]
    failed = [t for t in tests if t["status"] != "passed"]
    passed = [t for t in tests if t["status"] == "passed"]
    rule = " A function earns its points only when all its hidden checks pass." \
        if result.get("scoring") == "all_or_nothing" else ""
    lines = [textwrap.fill(f"Hidden checks for {target}: {_points(info['points'])} of "
                           f"{_points(info['max_points'])} points.{rule} Each line says what was compared "
                           "and the tolerance.", width=100)]
    if failed:
        lines.append(f"Not passed ({len(failed)} of {len(tests)}):")
        lines += [_wrapped(MARK.get(t["status"], t["status"].upper()), t["message"]) for t in failed]
    if passed:
        lines.append(f"Passed ({len(passed)} of {len(tests)}):")
        lines += [_wrapped("PASS", t["message"]) for t in passed]
    return "\n".join(lines) + "\n"


def cell_problems(result: dict) -> list[str]:
    problems = []
    for cell, report in result.get("cells", {}).items():
        if report["status"] != "ok":
            problems.append(f"cell {cell}: {report['status']}: {report['message']}")
    for cell in result.get("missing_cells", []):
        problems.append(f"cell {cell}: missing from the submission (was it deleted, or its metadata lost?)")
    return problems


def summary(result: dict) -> str:
    """A plain-text report for the terminal and for feedback."""
    lines = [f"Assignment {result['assignment_id']}: {_points(result['score'])} / "
             f"{_points(result['max_score'])} points (autograded part)",
             f"Sandbox: {result['isolation_note']}", ""]
    for target, info in result["targets"].items():
        lines.append(f"{target:24} {_points(info['points']):>6} / {_points(info['max_points'])}")
    failing = [t for t in result["tests"] if t["status"] != "passed"]
    if failing:
        lines += ["", "What to fix:"]
        lines += [f"  - {t['target']}: {t['message']}" for t in failing]
    problems = cell_problems(result)
    if problems:
        lines += ["", "Problems while loading your cells:"] + [f"  - {p}" for p in problems]
    return "\n".join(lines)
