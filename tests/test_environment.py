"""One source of truth for versions: requirements.txt. The rest agrees with it."""

import importlib.metadata
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

from make_environment import pins, render  # noqa: E402


def _parse(lines):
    return {re.split(r"==", line)[0].lower().replace("_", "-"): line.split("==")[1] for line in lines}


def test_environment_yml_is_generated_from_requirements():
    assert (REPO / "environment.yml").read_text() == render(REPO / "requirements.txt"), \
        "environment.yml is stale: run `make environment`"


def test_every_pin_is_exact():
    for line in pins(REPO / "requirements.txt"):
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[\w.+\-]+", line), line


def test_direct_dependencies_are_in_the_lock_with_the_same_version():
    locked = _parse(pins(REPO / "requirements.txt"))
    for name, version in _parse(pins(REPO / "requirements.in")).items():
        assert locked.get(name) == version, f"{name}: requirements.in says {version}, lock says {locked.get(name)}"


def test_installed_environment_matches_the_lock():
    locked = _parse(pins(REPO / "requirements.txt"))
    for name in _parse(pins(REPO / "requirements.in")):
        assert importlib.metadata.version(name) == locked[name], name


def test_the_stack_is_keras_3_on_tensorflow_2():
    locked = _parse(pins(REPO / "requirements.txt"))
    assert locked["keras"].startswith("3.") and re.match(r"2\.2\d\.", locked["tensorflow"])
    assert locked["nbgrader"].startswith("0.9.") and locked["jupyterlab"].startswith("4.")
