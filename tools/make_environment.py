"""Write environment.yml (conda, for course machines) from requirements.txt (the pins).

One source of truth: requirements.txt. tests/test_environment.py fails when
environment.yml is not what this script writes.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_VERSION = "3.11"


def pins(requirements: Path) -> list[str]:
    return [line.strip() for line in requirements.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def render(requirements: Path) -> str:
    lines = [
        "# Generated from requirements.txt by `make environment`. Do not edit by hand.",
        "# conda env create -f environment.yml && conda activate cnn-course",
        "name: cnn-course",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={PYTHON_VERSION}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {pin}" for pin in pins(requirements)]
    lines.append("      - -e .")
    return "\n".join(lines) + "\n"


def main() -> int:
    (ROOT / "environment.yml").write_text(render(ROOT / "requirements.txt"))
    print("wrote environment.yml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
