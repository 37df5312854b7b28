"""Execute notebooks in place (cwd = each notebook's folder), keeping their outputs.

Used by `make execute-solutions` after editing a source notebook: nbval then checks in CI
that a fresh run still produces these outputs. On the embedded profile the kernels record every
long training (tools/fit_recordings.py), which `make test` replays instead of training again.
"""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

import fit_recordings


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    if os.environ.get(fit_recordings.MODE_VARIABLE) == "record":
        fit_recordings.forget(path.parent.name)  # this run records the notebook's trainings afresh
    NotebookClient(notebook, timeout=2400, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(notebook, path)
    print(f"executed {path}")


if __name__ == "__main__":
    if os.environ.get("COURSE_DATA_PROFILE") == "embedded":
        os.environ["IPYTHONDIR"] = str(fit_recordings.ipython_dir())
        os.environ.setdefault(fit_recordings.MODE_VARIABLE, "record")
    for argument in sys.argv[1:]:
        execute(Path(argument))
