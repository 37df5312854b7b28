"""Read what a student's function wrote, from outside the student's process.

The listing is the grader's own: it walks the sandbox's file system through the namespace's
init (``SandboxProcess.outside_root``) with directory file descriptors, never following a
symbolic link, so a link the student planted cannot make the grader read a file outside the
sandbox, and nothing the student's code did to its own process can change what is listed.

The student's processes may still be running while the grader lists, and may swap what it is
about to open: every folder is opened with ``O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK`` (a link or a
FIFO put in a folder's place fails at once, nothing is followed and nothing blocks) and must be
the folder that was seen a moment before (``samestat``); every file with ``O_NOFOLLOW |
O_NONBLOCK``. An entry that vanishes or changes kind between two steps makes the listing fail
with a ``ListingError`` (the student's error), never another exception. (``os.fwalk`` opens each
folder with plain ``O_RDONLY`` after checking it, so a FIFO swapped in between blocked the grader
for good, and a link swapped in was followed to the grader's own file system.)

The format is that of ``inspectors.list_file_tree``, which the reference's folders are listed
with: relative POSIX path -> ``"dir"``, ``"link -> <target>"``, ``"file <size> <sha256>"`` or
``"other"`` (a FIFO, a socket, a device).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

MAX_ENTRIES = 2000
MAX_FILE_BYTES = 64 << 20
# All the files of one listing together. The sandbox's scratch space is a tmpfs of Limits.scratch_bytes
# (128 MB) and no file may outgrow Limits.file_bytes, but a sparse file takes no room: 2,000 files of
# 64 MB of zeros cost nothing to make and two minutes of the grader's CPU to hash.
MAX_TOTAL_BYTES = 256 << 20
MAX_DEPTH = 32  # folders inside folders: one open descriptor each


class ListingError(ValueError):
    """The folder cannot be listed (not inside the sandbox, too large, a link on the way)."""


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _open_folder(base: Path, inside: str) -> int:
    """A descriptor of ``inside`` (an absolute path in the sandbox), each step opened without
    following links."""
    parts = [p for p in inside.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ListingError(f"not a plain absolute path: {inside!r}")
    descriptor = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts:
            step = os.open(part, _FOLDER_FLAGS, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = step
    except OSError as error:
        os.close(descriptor)
        raise ListingError(f"{inside} cannot be opened as a folder ({error.strerror})") from None
    return descriptor


def _describe_file(name: str, folder: int, budget: list) -> str:
    """``"file <size> <sha256>"``, or ``"other"`` for what is not a regular file. ``budget`` holds the
    bytes this listing may still read (counted as they are read, a file may grow meanwhile)."""
    try:
        descriptor = os.open(name, _FILE_FLAGS, dir_fd=folder)
    except OSError:
        return "other"
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return "other"
        if info.st_size > MAX_FILE_BYTES:
            raise ListingError(f"{name} is larger than {MAX_FILE_BYTES >> 20} MB")
        digest = hashlib.sha256()
        while chunk := os.read(descriptor, 1 << 16):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise ListingError(f"the files hold more than {MAX_TOTAL_BYTES >> 20} MB in all")
            digest.update(chunk)
        return f"file {info.st_size} {digest.hexdigest()}"
    finally:
        os.close(descriptor)


def _shown(name: str) -> str:
    """A name as a report can print it: bytes that are no UTF-8 written as ``\\xNN`` (Python hands
    them over as lone surrogates, which no report, JSON file or notebook can encode)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _walk(folder: int, prefix: str, entries: dict, inside: str, depth: int, budget: list) -> None:
    """Add the entries of the open ``folder`` (sorted), then those of each subfolder in turn."""
    names = []
    with os.scandir(folder) as scan:
        for entry in scan:  # stop reading at once when there are too many
            names.append(entry.name)
            if len(entries) + len(names) > MAX_ENTRIES:
                raise ListingError(f"more than {MAX_ENTRIES} files and folders under {inside}")
    subfolders = []
    for name in sorted(names):
        info = os.stat(name, dir_fd=folder, follow_symlinks=False)
        path = prefix + _shown(name)
        if stat.S_ISLNK(info.st_mode):
            entries[path] = f"link -> {_shown(os.readlink(name, dir_fd=folder))}"
        elif stat.S_ISDIR(info.st_mode):
            entries[path] = "dir"
            subfolders.append((name, path, info))
        else:
            entries[path] = _describe_file(name, folder, budget)
    for name, path, seen in subfolders:
        if depth >= MAX_DEPTH:
            raise ListingError(f"folders nested more than {MAX_DEPTH} deep under {inside}")
        try:
            descriptor = os.open(name, _FOLDER_FLAGS, dir_fd=folder)
        except OSError:
            raise ListingError(f"{path} changed while the grader listed it") from None
        try:
            if not os.path.samestat(seen, os.fstat(descriptor)):
                raise ListingError(f"{path} changed while the grader listed it")
            _walk(descriptor, path + "/", entries, inside, depth + 1, budget)
        finally:
            os.close(descriptor)


def list_tree(base: Path, inside: str) -> dict:
    """Everything under ``inside`` (a path inside the sandbox whose root is ``base`` here)."""
    top = _open_folder(base, inside)
    entries: dict[str, str] = {}
    try:
        _walk(top, "", entries, inside, 0, [MAX_TOTAL_BYTES])
    except OSError as error:  # an entry vanished or changed kind between two steps: the student's doing
        raise ListingError(f"{inside} changed while the grader listed it ({error.strerror or error})") from None
    finally:
        os.close(top)
    return entries
