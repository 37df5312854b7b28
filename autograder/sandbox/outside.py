"""Read what a student's function wrote, from outside the student's process.

The listing is the grader's own: it walks the sandbox's file system through the namespace's
init (``SandboxProcess.outside_root``) with directory file descriptors, never following a
symbolic link (``os.fwalk(follow_symlinks=False)``, every file opened with ``O_NOFOLLOW``), so a
link the student planted cannot make the grader read a file outside the sandbox, and nothing
the student's code did to its own process can change what is listed.

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


class ListingError(ValueError):
    """The folder cannot be listed (not inside the sandbox, too large, a link on the way)."""


def _open_folder(base: Path, inside: str) -> int:
    """A descriptor of ``inside`` (an absolute path in the sandbox), each step opened without
    following links."""
    parts = [p for p in inside.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise ListingError(f"not a plain absolute path: {inside!r}")
    descriptor = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts:
            step = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = step
    except OSError as error:
        os.close(descriptor)
        raise ListingError(f"{inside} cannot be opened as a folder ({error.strerror})") from None
    return descriptor


def _describe_file(name: str, folder: int) -> str:
    try:
        descriptor = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
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
            digest.update(chunk)
        return f"file {info.st_size} {digest.hexdigest()}"
    finally:
        os.close(descriptor)


def list_tree(base: Path, inside: str) -> dict:
    """Everything under ``inside`` (a path inside the sandbox whose root is ``base`` here)."""
    top = _open_folder(base, inside)
    entries: dict[str, str] = {}
    try:
        for folder, subfolders, names, folder_fd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
            subfolders.sort()
            relative_folder = "" if folder == "." else folder.removeprefix("./") + "/"
            for name in sorted(subfolders + names):
                info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
                path = relative_folder + name
                if stat.S_ISLNK(info.st_mode):
                    entries[path] = f"link -> {os.readlink(name, dir_fd=folder_fd)}"
                elif stat.S_ISDIR(info.st_mode):
                    entries[path] = "dir"
                else:
                    entries[path] = _describe_file(name, folder_fd)
                if len(entries) > MAX_ENTRIES:
                    raise ListingError(f"more than {MAX_ENTRIES} files and folders under {inside}")
    finally:
        os.close(top)
    return entries
