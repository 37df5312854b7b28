"""The two data profiles and the cache directory, read from the environment on every call.

``COURSE_DATA_PROFILE``: ``full`` (default) or ``embedded``; ``COURSE_DATA_DIR``: the cache
directory (default ``~/.cache/cnn_course``). Reading them on every call lets a notebook set them
with ``os.environ`` at any time.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataProfileError

PROFILES = ("full", "embedded")
DEFAULT_DATA_DIR = "~/.cache/cnn_course"


def data_profile() -> str:
    """Return the active data profile, ``"full"`` (default) or ``"embedded"``.

    Read from ``COURSE_DATA_PROFILE`` on every call. Any other value raises
    ``DataProfileError`` listing the two valid values.
    """
    raw = os.environ.get("COURSE_DATA_PROFILE", "")
    profile = raw.strip().lower() or "full"
    if profile not in PROFILES:
        raise DataProfileError(
            f"COURSE_DATA_PROFILE={raw!r} is not a data profile. Use one of: "
            "'full' (the real data, downloaded once and verified) or "
            "'embedded' (small offline stand-in data, never downloaded)."
        )
    return profile


def data_dir() -> Path:
    """Return the cache directory: ``COURSE_DATA_DIR``, default ``~/.cache/cnn_course``.

    The directory is created when something is first written to it.
    """
    raw = os.environ.get("COURSE_DATA_DIR", "").strip()
    return Path(raw or DEFAULT_DATA_DIR).expanduser().absolute()


def embedded_dir() -> Path:
    """``<cache dir>/embedded``: everything the embedded profile generates."""
    return data_dir() / "embedded"


def notice(message: str) -> None:
    """Print a one-line notice: every call that returns stand-in data says so."""
    print(message, flush=True)
