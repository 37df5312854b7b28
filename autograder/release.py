"""The student release: nbgrader turns solutions/<id> into assignments/<id>.

Generation runs in a throwaway course directory so the repository never collects a
gradebook; the result is deterministic, so a test can regenerate it and compare.

Every released notebook starts with a generated cell that installs the students' helpers
(``cnn_course``) on Google Colab and does nothing anywhere else (:class:`ColabInstallCell`, a
step of nbgrader's ``generate_assignment`` registered in ``nbgrader_config.py``). The URL it
installs from is written in one place: ``Repository`` in ``pyproject.toml``'s ``[project.urls]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from .assignments import RELEASE, REPO_ROOT, SOLUTIONS, known_assignments

COLAB_CELL_TAG = "colab-install"
COLAB_CELL_TEMPLATE = """\
# Google Colab only: install the course's helpers (the cnn_course package) from the course's
# repository. Anywhere else, where the course environment is installed, this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    requirement = "cnn-course @ git+{url}"
    if subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", requirement]).returncode != 0:
        raise RuntimeError("Installing the course helpers failed (pip says why above). Check that Colab "
                           "is connected to the internet; if it is, ask your course team for the current "
                           "version of this notebook.")"""


def repository_url() -> str:
    """The course's published repository: ``Repository`` in pyproject.toml's [project.urls]."""
    with open(REPO_ROOT / "pyproject.toml", "rb") as stream:
        urls = tomllib.load(stream).get("project", {}).get("urls", {})
    if "Repository" not in urls:
        raise RuntimeError("pyproject.toml has no Repository entry in [project.urls]: the Colab cell of the "
                           "release installs the helpers from it (see the README, 'For students').")
    return urls["Repository"]


def colab_install_source(url: str | None = None) -> str:
    url = url or repository_url()
    return COLAB_CELL_TEMPLATE.format(url=url)


def colab_install_cell(url: str | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(colab_install_source(url))
    cell.metadata = {"tags": [COLAB_CELL_TAG], "editable": False, "deletable": False}
    cell.pop("id", None)  # a random id would make the release differ at every run; see ColabInstallCell
    return cell


class ColabInstallCell(NbGraderPreprocessor):
    """nbgrader step of ``generate_assignment``: put the Colab install cell first. The cell has no
    nbgrader metadata, so the gradebook, the checksums and the grader ignore it."""

    def preprocess(self, nb, resources):
        cell = colab_install_cell()
        if nb.nbformat_minor >= 5:
            cell.id = "colab-install"
        nb.cells = [c for c in nb.cells if COLAB_CELL_TAG not in c.metadata.get("tags", [])]
        nb.cells.insert(0, cell)
        return nb, resources


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


def nbgrader_command(course_root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in a course directory (``env``: extra variables); raise with its output if it fails."""
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs 'alembic' from the environment
    env = dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]),
               PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]), **(env or {}))
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


def generate_all_releases(release_root: Path = RELEASE) -> Path:
    """Every folder of solutions/, in one nbgrader run: about what one assignment costs (the run's
    start-up is most of it)."""
    generate_release("*", release_root)
    return release_root


def main(argv=None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description="Regenerate the student release (assignments/<id>) from solutions/.")
    parser.add_argument("assignments", nargs="*", metavar="ID", help="assignment ids (default: all)")
    args = parser.parse_args(argv)
    if "YOUR-COURSE" in repository_url():
        print(f"note: pyproject.toml's [project.urls] Repository is still the placeholder {repository_url()}; "
              "set it to the course's published copy before handing out the release (README, 'For students').")
    if args.assignments:
        for assignment_id in args.assignments:
            generate_release(assignment_id)
    else:
        generate_all_releases()
    for assignment_id in args.assignments or known_assignments():
        print(f"released {assignment_id} -> {(RELEASE / assignment_id).relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
