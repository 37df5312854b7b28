"""The student's path on Colab: every released notebook starts with a cell that installs the helpers
from the one URL in pyproject.toml and does nothing elsewhere; the helpers find their data without
the repository (the manifest ships inside the package)."""

import re
import shutil
import subprocess
import sys
import tomllib
import types
import zipfile

import nbformat
import pytest

from autograder.assignments import RELEASE, REPO_ROOT, known_assignments, load_assignment
from autograder.release import COLAB_CELL_TAG, colab_install_source, repository_url


def _url() -> str:
    with open(REPO_ROOT / "pyproject.toml", "rb") as stream:
        return tomllib.load(stream)["project"]["urls"]["Repository"]


@pytest.mark.parametrize("assignment_id", known_assignments())
def test_every_release_notebook_starts_with_the_colab_cell(assignment_id):
    path = RELEASE / assignment_id / f"{load_assignment(assignment_id).notebook_name}.ipynb"
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "code" and COLAB_CELL_TAG in first.metadata.get("tags", [])
    assert first.source == colab_install_source(_url()), f"{path}: the Colab cell is stale: run `make release`"
    assert f'"cnn-course @ git+{_url()}"' in first.source
    assert "nbgrader" not in first.metadata  # the grader and the gradebook ignore it


def test_the_url_is_read_from_pyproject():
    assert repository_url() == _url()
    assert _url() in colab_install_source()
    assert re.fullmatch(r"https://\S+", _url())


def _run_cell(monkeypatch, colab: bool) -> list:
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append(args[0]) or
                        types.SimpleNamespace(returncode=0))
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(colab_install_source(), "<colab cell>", "exec"), {})
    return calls


def test_the_cell_installs_on_colab_and_does_nothing_elsewhere(monkeypatch):
    assert _run_cell(monkeypatch, colab=False) == []
    (command,) = _run_cell(monkeypatch, colab=True)
    assert command[1:4] == ["-m", "pip", "install"] and command[-1] == f"cnn-course @ git+{_url()}"


def test_the_readme_install_line_uses_the_same_url():
    readme = (REPO_ROOT / "README.md").read_text()
    assert "<this repository's URL>" not in readme
    assert f'pip install "cnn-course @ git+{_url()}"' in readme


def test_an_installed_package_finds_its_manifest_without_the_repository(tmp_path):
    """What pip builds on Colab: a wheel of cnn_course, used outside any checkout (the default cache
    directory in the home folder, the manifest packaged with the helpers)."""
    wheels, site, home, source = (tmp_path / name for name in ("wheels", "site", "home", "source"))
    # What a clone holds, copied so that the build leaves nothing in the working tree (links kept as links).
    shutil.copytree(REPO_ROOT / "cnn_course", source / "cnn_course", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    links = [path for path in (REPO_ROOT / "cnn_course").iterdir() if path.is_symlink()]
    for link in links:  # the files under datasets/ that the package links to (the manifest, the stand-in base)
        target = (link.parent / link.readlink()).resolve().relative_to(REPO_ROOT)
        (source / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / target, source / target)
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    assert "manifest.json" in {link.name for link in links}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(source)], check=True, capture_output=True)
    (wheel,) = wheels.glob("cnn_course-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # every linked file is in the wheel, as a file
        assert {f"cnn_course/{link.name}" for link in links} <= set(archive.namelist())
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    home.mkdir()
    script = ("import cnn_course.data as d; print(d.MANIFEST_PATH.is_symlink(), d.data_profile(), d.data_dir(), "
              "d.dataset_info('mnist').filename, d.dataset_info('dogs_vs_cats').filename)")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={"HOME": str(home), "PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "full", str(home / ".cache" / "cnn_course"), "mnist.npz",
                                   "kagglecatsanddogs_5340.zip"]
