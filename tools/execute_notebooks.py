"""Execute notebooks in place (cwd = each notebook's folder), keeping their outputs.

Used by `make execute-solutions` after editing a source notebook: nbval then checks in CI
that a fresh run still produces these outputs.
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=1200, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(notebook, path)
    print(f"executed {path}")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        execute(Path(argument))
