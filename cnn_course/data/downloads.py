"""The files of the full profile: download, check against the manifest, report.

``fetch`` downloads a missing file into a temporary file, checks its size and checksum, and
only then renames it into the cache directory; ``verify`` and ``cached_status`` check a cached
(or pre-staged) file and never download. A file that cannot be had raises ``DataUnavailable``
with the URL, the checksum and the ways out: the full profile never falls back to stand-in data.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shlex
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from .errors import DataProfileError, DataUnavailable
from .manifest import DatasetInfo, dataset_info
from .settings import data_dir, data_profile

DOWNLOAD_TIMEOUT_SECONDS = 60
USER_AGENT = "cnn-course-data/1 (+python urllib)"
_CHUNK_BYTES = 1 << 20


def _require_profile(profile: str, what: str) -> None:
    if data_profile() == profile:
        return
    if profile == "full":
        raise DataProfileError(
            f"{what}: the embedded profile generates its data locally and never downloads. "
            "Use load_mnist() or make_cats_vs_dogs_small() for the stand-in data, or set "
            "COURSE_DATA_PROFILE=full to download the real files."
        )
    raise DataProfileError(f"{what} only applies to the {profile} profile.")


def _cached_path(info: DatasetInfo) -> Path:
    return data_dir() / info.filename


# --------------------------------------------------------------------------- verification

# Files whose checksum already matched in this process, keyed by path, with the stat
# they had then. Re-hashing 800 MB on every call would be slow; a changed size or
# modification time forces a new check.
_verified_files: dict[Path, tuple] = {}


def _file_digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()


def _stat_stamp(path: Path, info: DatasetInfo) -> tuple:
    stat = path.stat()
    return (stat.st_size, stat.st_mtime_ns, info.algorithm, info.checksum)


def _cached_file_problem(info: DatasetInfo, path: Path, *, full_check: bool) -> str | None:
    """Why the cached file is wrong, or None. Size always; checksum unless known good."""
    size = path.stat().st_size
    if size != info.size:
        return f"it has {size:,} bytes instead of {info.size:,}"
    stamp = _stat_stamp(path, info)
    if not full_check and _verified_files.get(path) == stamp:
        return None
    digest = _file_digest(path, info.algorithm)
    if digest != info.checksum:
        return f"its {info.algorithm} is {digest}"
    _verified_files[path] = stamp
    return None


def _move_aside(path: Path) -> Path:
    """Rename a bad file to ``<name>.corrupt`` (never delete it: it may be evidence)."""
    aside = path.with_name(path.name + ".corrupt")
    number = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt.{number}")
        number += 1
    os.replace(path, aside)
    return aside


def _unavailable_message(info: DatasetInfo, target: Path, problem: str, first_hint: str = "") -> str:
    quoted_target = shlex.quote(str(target))
    return (
        f"{info.name}: {problem}\n"
        f"  file:     {info.filename}\n"
        f"  URL:      {info.url}\n"
        f"  expected: {info.size:,} bytes, {info.algorithm} {info.checksum}\n"
        f"  target:   {target}\n"
        "The full profile never substitutes stand-in data. Ways out:\n"
        f"{first_hint}"
        "  1. Pre-stage the file: download it where you have internet access and put it at\n"
        f"     {target}, for example with\n"
        f"       curl -fL -o {quoted_target} {shlex.quote(info.url)}\n"
        f"     then check it with: python -m cnn_course.data verify {info.name}\n"
        "  2. Use the small offline stand-in data: set COURSE_DATA_PROFILE=embedded\n"
        "     (shell: export COURSE_DATA_PROFILE=embedded; notebook: "
        "os.environ['COURSE_DATA_PROFILE'] = 'embedded')."
    )


def _check_cached_file(info: DatasetInfo, path: Path, *, full_check: bool) -> None:
    problem = _cached_file_problem(info, path, full_check=full_check)
    if problem is None:
        return
    _verified_files.pop(path, None)
    aside = _move_aside(path)
    raise DataUnavailable(
        _unavailable_message(
            info,
            path,
            f"the cached file is corrupt ({problem}); it was moved aside to {aside}.",
            "  0. Run the same call again to download a fresh copy (if you have internet access).\n",
        )
    )


def cached_status(name: str) -> str:
    """Describe the cached file of ``name`` without changing anything.

    Returns ``"missing"``, ``"verified"`` (size and checksum match) or
    ``"corrupt: <why>"``. Hashes the whole file, so it takes a few seconds for the
    Dogs vs Cats archive.
    """
    info = dataset_info(name)
    path = _cached_path(info)
    if not path.is_file():
        return "missing"
    problem = _cached_file_problem(info, path, full_check=True)
    return "verified" if problem is None else f"corrupt: {problem}"


# --------------------------------------------------------------------------- download


class _DownloadProblem(Exception):
    """Internal: why a download cannot be used (becomes a DataUnavailable message)."""


def _open_url(url: str):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS)


def _announced_size(response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _stream_to(info: DatasetInfo, out) -> tuple[int, str]:
    """Copy the URL into ``out`` with a progress bar; return (bytes received, digest)."""
    hasher = hashlib.new(info.algorithm, usedforsecurity=False)
    received = 0
    with _open_url(info.url) as response:
        announced = _announced_size(response)
        if announced is not None and announced != info.size:
            raise _DownloadProblem(f"the server offers {announced:,} bytes, not {info.size:,}")
        with tqdm(total=info.size, unit="B", unit_scale=True, unit_divisor=1024, desc=info.filename) as bar:
            while chunk := response.read(_CHUNK_BYTES):
                received += len(chunk)
                if received > info.size:  # do not fill the disk with a wrong file
                    raise _DownloadProblem(f"the server sent more than {info.size:,} bytes")
                hasher.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
    return received, hasher.hexdigest()


def _download(info: DatasetInfo, target: Path) -> None:
    """Download into a temporary file next to ``target``, verify, then rename into place.

    The rename is atomic, so ``target`` either does not exist or is complete and
    verified, even if the process is killed. The temporary file is always removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{info.filename}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            received, digest = _stream_to(info, out)
            out.flush()
            os.fsync(out.fileno())
        if received != info.size:
            raise _DownloadProblem(f"the download stopped after {received:,} of {info.size:,} bytes")
        if digest != info.checksum:
            raise _DownloadProblem(f"the downloaded file's {info.algorithm} is {digest}")
        os.replace(temp, target)
        _verified_files[target] = _stat_stamp(target, info)
    except (_DownloadProblem, OSError, http.client.HTTPException, ValueError) as error:
        # OSError covers URLError/HTTPError, timeouts and refused connections.
        # "<urlopen error ...>" adds nothing to the reason; "HTTP Error 404: ..." does.
        plain_url_error = isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError)
        reason = error.reason if plain_url_error else error
        raise DataUnavailable(
            _unavailable_message(info, target, f"download failed: {reason}. Nothing was saved at the target.")
        ) from error
    finally:
        temp.unlink(missing_ok=True)


def fetch(name: str, *, verify: bool = False) -> Path:
    """Return the path of the verified file ``name`` (full profile), downloading it if needed.

    A missing file is downloaded with a progress bar into a temporary file in the cache
    directory, checked against the manifest's size and checksum, then atomically renamed
    to ``<cache dir>/<filename>``. A cached file has its size checked on every call and
    its checksum on the first call in each process (or every call with ``verify=True``).
    A corrupt cached file is renamed to ``<filename>.corrupt``.

    Raises ``DataUnavailable`` (with the URL, the expected checksum, and how to pre-stage
    the file or switch to the embedded profile) when the file cannot be obtained, and
    ``DataProfileError`` in the embedded profile, whose data is generated, not fetched.
    """
    _require_profile("full", f"fetch({name!r})")
    info = dataset_info(name)
    target = _cached_path(info)
    if target.exists():
        _check_cached_file(info, target, full_check=verify)
    else:
        _download(info, target)
    return target


def verify(name: str) -> Path:
    """Check the cached file ``name`` against its size and checksum; return its path.

    Never downloads and works in either profile (useful after pre-staging a file). Raises
    ``DataUnavailable`` if the file is missing or corrupt; a corrupt file is renamed to
    ``<filename>.corrupt``.
    """
    info = dataset_info(name)
    target = _cached_path(info)
    if not target.is_file():
        raise DataUnavailable(
            _unavailable_message(
                info,
                target,
                "the file is not in the cache (verify never downloads).",
                f"  0. With internet access: python -m cnn_course.data fetch {name}\n",
            )
        )
    _check_cached_file(info, target, full_check=True)
    return target
