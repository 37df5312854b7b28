"""The student release: nbgrader turns solutions/<id> into assignments/<id>.

Generation runs in a throwaway course directory so the repository never collects a
gradebook; the result is deterministic, so a test can regenerate it and compare.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .assignments import RELEASE, REPO_ROOT, SOLUTIONS, known_assignments


def write_course_config(course_root: Path, release_root: Path) -> None:
    """An nbgrader_config.py for a course directory outside the repository."""
    course_root.mkdir(parents=True, exist_ok=True)
    (course_root / "nbgrader_config.py").write_text(
        "# Written by the course kit: the repository's configuration, with this directory as the course root.\n"
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(REPO_ROOT / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course_root)!r}\n"
        f"c.CourseDirectory.source_directory = {str(SOLUTIONS)!r}\n"
        f"c.CourseDirectory.release_directory = {str(release_root)!r}\n")


def nbgrader_command(course_root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in a course directory; raise with its output if it fails."""
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs 'alembic' from the environment
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    process = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course_root, env=env,
                             capture_output=True, text=True)
    if process.returncode != 0:
        tail = (process.stdout + process.stderr)[-3000:]
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {process.returncode}):\n{tail}")
    return process


def generate_release(assignment_id: str, release_root: Path = RELEASE) -> Path:
    with tempfile.TemporaryDirectory(prefix="release-course-") as course:
        write_course_config(Path(course), release_root)
        nbgrader_command(Path(course), "generate_assignment", assignment_id, "--force")
    return release_root / assignment_id


def main() -> int:
    for assignment_id in known_assignments():
        path = generate_release(assignment_id)
        print(f"released {assignment_id} -> {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
