"""Where an assignment's parts live, and its grading settings.

The source notebook is the one place an assignment is written: the targets and their
points come from its check cells. ``autograder/checks/<id>/assignment.toml`` holds only
what a notebook cannot say (sandbox limits, libraries a graded function may not use).
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .notebooks import SubmissionError, check_cells, read_notebook
from .sandbox.launcher import Limits

REPO_ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO_ROOT / "solutions"
RELEASE = REPO_ROOT / "assignments"
CHECKS = REPO_ROOT / "autograder" / "checks"


@dataclass(frozen=True)
class Assignment:
    id: str
    notebook_name: str
    source_path: Path
    checks_dir: Path
    targets: dict = field(hash=False)
    forbidden_modules: tuple = ()
    forbidden_reason: str = ""
    limits: Limits = field(default_factory=Limits, hash=False)
    scoring: str = "all_or_nothing"  # or "proportional": points per passed check
    artifacts: tuple = ()  # files handed in with the notebook (trained models), by name
    floors: dict = field(default_factory=dict, hash=False)  # profile -> {name: minimum}
    needs_gpu: bool = False  # [grading] gpu: class runs send it to workers with a GPU resource

    @property
    def max_score(self) -> float:
        return sum(t["points"] for t in self.targets.values())

    def source(self):
        return read_notebook(self.source_path, role="source")


def known_assignments() -> list[str]:
    return sorted(p.name for p in CHECKS.iterdir() if (p / "assignment.toml").exists())


@functools.lru_cache(maxsize=None)
def load_assignment(assignment_id: str) -> Assignment:
    known = known_assignments()
    if assignment_id not in known:
        raise SubmissionError(f"unknown assignment {assignment_id!r}. Known assignments: "
                              f"{', '.join(known) or 'none'}.")
    checks_dir = CHECKS / assignment_id
    settings = tomllib.loads((checks_dir / "assignment.toml").read_text())
    notebooks = sorted((SOLUTIONS / assignment_id).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise SubmissionError(f"solutions/{assignment_id} must hold exactly one source notebook, "
                              f"found {len(notebooks)}.")
    source_path = notebooks[0]
    targets = check_cells(read_notebook(source_path, role="source"))
    limits = Limits(**settings.get("limits", {}))
    forbidden = settings.get("forbidden", {})
    return Assignment(
        id=assignment_id, notebook_name=source_path.stem, source_path=source_path,
        checks_dir=checks_dir, targets=targets,
        forbidden_modules=tuple(forbidden.get("modules", ())),
        forbidden_reason=forbidden.get("reason", ""), limits=limits,
        scoring=settings.get("scoring", "all_or_nothing"),
        artifacts=tuple(settings.get("artifacts", {}).get("files", ())),
        floors=settings.get("floors", {}),
        needs_gpu=bool(settings.get("grading", {}).get("gpu", False)))
