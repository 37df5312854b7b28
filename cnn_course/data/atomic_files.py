"""Files that are complete or absent: atomic writes, byte-reproducible npz files, and a lock.

A killed process or a parallel test worker never leaves a half-written file behind: each
file is written to a temporary name in its folder and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # Windows: no parallel test workers there to guard against
    fcntl = None

_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps make the generated npz byte-identical


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temp_path)``, then rename the result to ``path``: no half-written files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed`` but byte-reproducible (np.savez stamps the current time)."""

    def write(temp: Path) -> None:
        with zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED) as archive:
            for key, array in arrays.items():
                member = zipfile.ZipInfo(f"{key}.npy", date_time=_FIXED_ZIP_TIME)
                member.compress_type = zipfile.ZIP_DEFLATED
                with archive.open(member, "w") as stream:
                    np.lib.format.write_array(stream, np.ascontiguousarray(array), allow_pickle=False)

    write_atomically(path, write)


@contextlib.contextmanager
def exclusive(lock_path: Path):
    """Hold an exclusive lock on ``lock_path`` (created if missing) inside the ``with`` block."""
    with open(lock_path, "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield
