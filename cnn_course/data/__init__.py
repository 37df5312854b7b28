"""Course data: MNIST, Dogs vs Cats and the VGG16 weights, online or offline.

Two *profiles*, chosen with the environment variable ``COURSE_DATA_PROFILE``:

``full`` (default)
    The real files listed in ``datasets/manifest.json``. Each one is downloaded on first
    use into the cache directory, checked against its size and checksum, and only then
    moved into place. When a download fails or a file is corrupt you get a
    ``DataUnavailable`` error that says how to pre-stage the file or switch profile. The
    course never falls back to stand-in data by itself.
``embedded``
    Small offline data generated deterministically under ``<cache dir>/embedded/``:
    real handwritten digits (the UCI digits scikit-learn ships, committed here), shaped like MNIST, and synthetic
    cat/dog drawings in the layout of the Dogs vs Cats subsets. Nothing is downloaded.
    Every call that returns stand-in data prints a one-line notice saying so.

The cache directory is ``COURSE_DATA_DIR`` (default ``~/.cache/cnn_course``). Both
variables are read on every call, so a notebook can set them with ``os.environ`` at any
time.

Command line: ``python -m cnn_course.data --help`` (fetch, verify, build-subsets, info).

The modules, each importing only from those listed before it:
``errors`` (the exceptions), ``settings`` (profile, cache directory, notices), ``manifest``
(``dataset_info``, the committed stand-in files), ``downloads`` (``fetch``, ``verify``,
``cached_status``), ``atomic_files`` (atomic writes, reproducible npz, a lock), ``mnist``
(``load_mnist``), ``images`` (corrupt-image checks), ``drawings`` (the stand-in cats and dogs),
``standins`` (the stand-in PetImages files), ``dogs_vs_cats`` (the archive and the subsets);
``__main__`` is the command line, and nothing imports it.
"""

from __future__ import annotations

import sys
import types

from . import atomic_files, dogs_vs_cats, downloads, drawings, errors, images, manifest, mnist, settings, standins
from .dogs_vs_cats import (
    BUILD_RECORD,
    EMBEDDED_SUBSET_COUNTS,
    FULL_SUBSET_COUNTS,
    STANDIN_NOTICE,
    SUBSET_CLASSES,
    extract_dogs_vs_cats,
    make_cats_vs_dogs_small,
)
from .downloads import DOWNLOAD_TIMEOUT_SECONDS, USER_AGENT, cached_status, fetch, verify
from .drawings import StandinHead, standin_with_head
from .errors import DataError, DataProfileError, DataUnavailable
from .images import JPEG_SUFFIXES, CorruptImageReport, filter_corrupt_images, image_problem
from .manifest import (
    MANIFEST_PATH,
    STANDIN_DIR,
    STANDIN_MANIFEST_PATH,
    DatasetInfo,
    dataset_info,
    dataset_names,
    standin_file,
)
from .mnist import DIGITS_NOTICE, DIGITS_STANDIN, EMBEDDED_DIGITS_FILE, EMBEDDED_DIGITS_TRAIN, load_mnist
from .settings import DEFAULT_DATA_DIR, PROFILES, data_dir, data_profile
from .standins import STANDIN_VERSION

__all__ = [
    "DataError",
    "DataProfileError",
    "DataUnavailable",
    "CorruptImageReport",
    "PROFILES",
    "data_profile",
    "data_dir",
    "dataset_names",
    "dataset_info",
    "cached_status",
    "fetch",
    "verify",
    "load_mnist",
    "extract_dogs_vs_cats",
    "image_problem",
    "filter_corrupt_images",
    "make_cats_vs_dogs_small",
    "StandinHead",
    "standin_with_head",
]

# Where each name imported above comes from: the first module, in import order, that holds it.
_OWNERS: dict[str, str] = {}
for _module in (errors, settings, manifest, downloads, atomic_files, mnist, images, drawings, standins, dogs_vs_cats):
    for _name, _value in vars(_module).items():
        if (_name.isupper() or callable(_value)) and not _name.startswith("_") and globals().get(_name) is _value:
            _OWNERS.setdefault(_name, _module.__name__)
del _module, _name, _value


class _Package(types.ModuleType):
    """Refuses to rebind a name imported from a submodule: the submodules read their own
    globals, so a name rebound here (a test's monkeypatch, say) would change nothing, silently."""

    def __setattr__(self, name, value):
        owner = _OWNERS.get(name)
        if owner and value is not getattr(self, name):  # setting the same object back (an undo) is harmless
            raise AttributeError(
                f"cnn_course.data.{name} only re-exports {owner}.{name}, the one the data layer reads: "
                f"set or patch it there (from {owner.rpartition('.')[0]} import {owner.rpartition('.')[2]})."
            )
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
