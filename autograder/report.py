"""Words for people: the grading result as a student or a TA reads it."""

from __future__ import annotations

MARK = {"passed": "PASS", "failed": "FAIL", "error": "ERROR", "timeout": "TIMEOUT"}


def _points(value: float) -> str:
    return f"{value:g}"


def target_lines(result: dict, target: str) -> list[str]:
    """The hidden checks of one graded function, one line each."""
    lines = []
    for test in result["tests"]:
        if test["target"] != target:
            continue
        lines.append(f"{MARK.get(test['status'], test['status'].upper()):7} "
                     f"[{_points(test['points'])}/{_points(test['max_points'])}] {test['message']}")
    return lines


def target_block(result: dict, target: str) -> str:
    info = result["targets"][target]
    rule = ("A function earns its points only when all its hidden checks pass. "
            if result.get("scoring") == "all_or_nothing" else "")
    head = (f"Hidden checks for {target}: {_points(info['points'])} of {_points(info['max_points'])} points. "
            f"{rule}Each line says what was compared and the tolerance.")
    return "\n".join([head, *target_lines(result, target)]) + "\n"


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
