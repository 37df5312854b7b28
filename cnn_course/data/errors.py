"""The data layer's errors. Every message says what to do."""

from __future__ import annotations


class DataError(RuntimeError):
    """Base class of the data layer's errors; the message says what to do."""


class DataUnavailable(DataError):
    """A file of the full profile could not be downloaded, is missing, or is corrupt."""


class DataProfileError(DataError, ValueError):
    """COURSE_DATA_PROFILE is invalid, or the call does not apply to the active profile."""
