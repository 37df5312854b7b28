"""The course secret: what makes hidden inputs and grader-held images unknowable to students.

32 random bytes, created at the first grading in the course directory (``.grader-secret``,
readable by the grader's user only, never released, never committed: ``.gitignore``), or read
from ``COURSE_GRADER_SECRET_FILE``. Every grading machine of one course must use the same
file, so that re-grading a submission anywhere gives the same score. Deleting it draws new
hidden cases and new grader-held images for every later grading.

From it the grader derives:
- ``case_seed(secret, submission_digest)``: the seed of one submission's hidden inputs. One
  student's cases tell nothing about another's; the same submission always gets the same ones;
- ``course_seed(secret, purpose)``: a seed shared by the whole course, e.g. for the stand-in
  test images that handed-in models are scored on.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_FILE_NAME = ".grader-secret"
SECRET_BYTES = 32


def secret_path(course_root: Path) -> Path:
    override = os.environ.get("COURSE_GRADER_SECRET_FILE")
    return Path(override) if override else Path(course_root) / SECRET_FILE_NAME


def course_secret(course_root: Path) -> bytes:
    """The course's secret, created (atomically: two graders starting at once agree) on first use."""
    path = secret_path(course_root)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES))
        try:
            os.link(temporary, path)  # fails if another grader created it first: keep theirs
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        data = path.read_bytes()
    if len(data) != SECRET_BYTES:
        raise RuntimeError(f"{path} holds {len(data)} bytes, not the {SECRET_BYTES} of a course secret. Restore "
                           "it from the course's backup, or delete it to draw new hidden cases (earlier "
                           "results then no longer match a re-grading).")
    return data


def _derive(secret: bytes, *parts: bytes) -> int:
    digest = hmac.new(secret, b"\0".join(parts), hashlib.sha256).digest()
    return int.from_bytes(digest[:16], "big")


def case_seed(secret: bytes, submission_digest: str) -> int:
    return _derive(secret, b"hidden cases", submission_digest.encode())


def course_seed(secret: bytes, purpose: str) -> int:
    return _derive(secret, b"course", purpose.encode())


def submission_digest(cells: list[dict], handed_in: list[Path] = ()) -> str:
    """What the student handed in that the grader runs or reads: the cells and the files."""
    content = hashlib.sha256()
    for cell in cells:
        content.update(f"{cell['id']}\0{cell['source']}\0".encode())
    for path in sorted(handed_in, key=lambda p: p.name):
        content.update(f"{path.name}\0".encode() + hashlib.sha256(Path(path).read_bytes()).digest())
    return content.hexdigest()
