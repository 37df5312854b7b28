"""Tests of cnn_course.data: downloads, verification, profiles, image filtering, subsets.

Nothing here touches the internet: downloads go to a throwaway HTTP server on
127.0.0.1, described by a small manifest written per test, and a guard fails any test
that tries another URL.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn_course import data
from cnn_course.data import downloads, manifest, mnist, standins
from cnn_course.data.__main__ import main as cli_main

REPO = Path(__file__).resolve().parents[1]

PAYLOAD = bytes(range(256)) * 6000  # 1.5 MB: more than one download chunk
OTHER_PAYLOAD = b"weights" * 1000


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def isolated_data(tmp_path, monkeypatch):
    """Fresh cache dir and profile per test; only loopback URLs may be opened."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_PROFILE", raising=False)
    # Patched in the modules that read them: cnn_course.data only re-exports names (and refuses patches).
    monkeypatch.setattr(downloads, "_verified_files", {})
    monkeypatch.setattr(manifest, "MANIFEST_PATH", tmp_path / "no-manifest.json")
    real_open_url = downloads._open_url

    def loopback_only(url):
        assert url.startswith("http://127.0.0.1:"), f"test tried to reach {url}"
        return real_open_url(url)

    monkeypatch.setattr(downloads, "_open_url", loopback_only)


@dataclass
class Route:
    body: bytes
    mode: str = "ok"  # "ok", "no-length" (close-delimited body) or "cut" (close mid-body)
    midway: object = None  # called after half the body is sent


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        self.send_response(200)
        if route.mode != "no-length":
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        half = len(route.body) // 2
        self.wfile.write(route.body[:half])
        self.wfile.flush()
        if route.midway:
            route.midway()
        if route.mode != "cut":
            self.wfile.write(route.body[half:])

    def log_message(self, *args):
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that hangs up on a cut download is the test's point, not news for the terminal


@pytest.fixture
def server():
    """A loopback HTTP server; tests add ``server.routes[path] = Route(...)``."""
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.requests = {}, []
    httpd.base_url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def manifest_entry(name, url, payload, *, algorithm="sha256", size=None, checksum=None):
    return {
        "name": name,
        "description": f"test file {name}",
        "url": url,
        "filename": f"{name}.bin",
        "size": len(payload) if size is None else size,
        "checksum": {"algorithm": algorithm, "value": checksum or hashlib.new(algorithm, payload).hexdigest()},
        "licence": "test",
        "citation": "test",
    }


@pytest.fixture
def use_manifest(tmp_path, monkeypatch):
    def write(*entries):
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps({"schema_version": 1, "datasets": list(entries)}))
        monkeypatch.setattr(manifest, "MANIFEST_PATH", path)

    return write


@pytest.fixture
def tiny(server, use_manifest):
    """One dataset 'tiny' served correctly at /tiny.bin."""
    server.routes["/tiny.bin"] = Route(PAYLOAD)
    use_manifest(manifest_entry("tiny", server.base_url + "/tiny.bin", PAYLOAD))
    return data.data_dir() / "tiny.bin"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part")) if folder.exists() else []


def assert_ways_out(message: str, url: str, checksum: str, target: Path):
    assert url in message
    assert checksum in message
    assert f"curl -fL -o {target}" in message  # pre-stage: exact command and target path
    assert "COURSE_DATA_PROFILE=embedded" in message


def jpeg_bytes(colour=(200, 30, 30), size=(32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (0, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


# --------------------------------------------------------------------------- downloads


def test_download_lands_atomically_with_progress_bar(tiny, server, capsys):
    seen_midway = {}

    def look_at_cache():
        seen_midway["final exists"] = tiny.exists()
        seen_midway["partials"] = leftovers(tiny.parent)

    server.routes["/tiny.bin"].midway = look_at_cache
    path = data.fetch("tiny")

    assert path == tiny and path.read_bytes() == PAYLOAD
    assert seen_midway["final exists"] is False, "the final path appeared before the download finished"
    assert len(seen_midway["partials"]) == 1, "the download should stream into one temporary file"
    assert leftovers(tiny.parent) == []
    progress = capsys.readouterr().err
    assert "tiny.bin" in progress and "100%" in progress


def test_cached_file_is_reused_without_downloading(tiny, server):
    data.fetch("tiny")
    data.fetch("tiny")
    assert server.requests == ["/tiny.bin"]


def test_checksum_mismatch_raises_and_leaves_no_file(server, use_manifest):
    url = server.base_url + "/tiny.bin"
    server.routes["/tiny.bin"] = Route(PAYLOAD)
    expected = hashlib.sha256(b"something else").hexdigest()
    use_manifest(manifest_entry("tiny", url, PAYLOAD, checksum=expected))
    target = data.data_dir() / "tiny.bin"

    with pytest.raises(data.DataUnavailable) as caught:
        data.fetch("tiny")

    assert "sha256 is " + hashlib.sha256(PAYLOAD).hexdigest() in str(caught.value)
    assert_ways_out(str(caught.value), url, expected, target)
    assert not target.exists()
    assert leftovers(target.parent) == []


@pytest.mark.parametrize("mode", ["ok", "no-length"], ids=["announced-length", "close-delimited"])
def test_truncated_file_is_rejected(server, use_manifest, mode):
    short = PAYLOAD[:-1000]
    server.routes["/tiny.bin"] = Route(short, mode=mode)
    use_manifest(manifest_entry("tiny", server.base_url + "/tiny.bin", PAYLOAD))

    with pytest.raises(data.DataUnavailable) as caught:
        data.fetch("tiny")

    assert f"{len(short):,}" in str(caught.value) and f"{len(PAYLOAD):,}" in str(caught.value)
    assert not (data.data_dir() / "tiny.bin").exists()
    assert leftovers(data.data_dir()) == []


def test_interrupted_download_leaves_no_partial_file(server, use_manifest):
    server.routes["/tiny.bin"] = Route(PAYLOAD, mode="cut")
    use_manifest(manifest_entry("tiny", server.base_url + "/tiny.bin", PAYLOAD))

    with pytest.raises(data.DataUnavailable, match="stopped after"):
        data.fetch("tiny")

    assert not (data.data_dir() / "tiny.bin").exists()
    assert leftovers(data.data_dir()) == []


@pytest.mark.parametrize("damage", ["same-size", "wrong-size"])
def test_corrupt_cached_file_is_moved_aside(tiny, server, damage):
    tiny.parent.mkdir(parents=True)
    bad = b"\0" * len(PAYLOAD) if damage == "same-size" else PAYLOAD[:100]
    tiny.write_bytes(bad)

    with pytest.raises(data.DataUnavailable) as caught:
        data.fetch("tiny")

    aside = tiny.with_name("tiny.bin.corrupt")
    assert aside.read_bytes() == bad, "the corrupt file must be kept, not deleted"
    assert not tiny.exists()
    assert str(aside) in str(caught.value)
    assert_ways_out(str(caught.value), server.base_url + "/tiny.bin", data.dataset_info("tiny").checksum, tiny)
    assert server.requests == [], "a corrupt cache must be reported, not silently replaced"
    assert data.fetch("tiny").read_bytes() == PAYLOAD  # the next call downloads a fresh copy


def test_checksum_is_checked_once_per_process_and_always_with_verify(tiny):
    data.fetch("tiny")
    stat = tiny.stat()
    tiny.write_bytes(b"\1" * len(PAYLOAD))  # same size and mtime: only a checksum can tell
    os.utime(tiny, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    assert data.fetch("tiny") == tiny  # cheap path: size only, already verified here
    with pytest.raises(data.DataUnavailable, match="corrupt"):
        data.fetch("tiny", verify=True)
    assert tiny.with_name("tiny.bin.corrupt").exists()


def test_verify_never_downloads(tiny, server):
    with pytest.raises(data.DataUnavailable, match="not in the cache") as caught:
        data.verify("tiny")
    assert "python -m cnn_course.data fetch tiny" in str(caught.value)
    assert server.requests == []


# --------------------------------------------------------------------------- profiles


def test_full_profile_never_falls_back_to_embedded_data(server, use_manifest, capsys):
    url = server.base_url + "/missing/mnist.npz"  # the server answers 404
    use_manifest(manifest_entry("mnist", url, b"unused"))

    with pytest.raises(data.DataUnavailable) as caught:
        data.load_mnist()

    assert "Not Found" in str(caught.value)
    assert_ways_out(str(caught.value), url, data.dataset_info("mnist").checksum, data.data_dir() / "mnist.bin")
    assert not (data.data_dir() / "embedded").exists()
    assert "embedded profile" not in capsys.readouterr().out


def test_unknown_profile_is_rejected_with_the_valid_values(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "offline")
    with pytest.raises(data.DataProfileError) as caught:
        data.data_profile()
    assert "'offline'" in str(caught.value) and "'full'" in str(caught.value) and "'embedded'" in str(caught.value)
    with pytest.raises(data.DataProfileError):
        data.load_mnist()


def test_urls_other_than_the_loopback_server_are_refused(use_manifest):
    """The guard of the autouse fixture reaches the code that downloads."""
    use_manifest(manifest_entry("far", "https://example.com/far.bin", PAYLOAD))
    with pytest.raises(AssertionError, match="test tried to reach https://example.com/far.bin"):
        data.fetch("far")


def test_embedded_profile_does_not_fetch(tiny, server, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    with pytest.raises(data.DataProfileError, match="generates its data locally"):
        data.fetch("tiny")
    assert server.requests == []


# --------------------------------------------------------------------------- corrupt images


def make_image_folder(folder: Path) -> None:
    (folder / "Cat").mkdir(parents=True)
    (folder / "Dog").mkdir()
    (folder / "Cat" / "1.jpg").write_bytes(jpeg_bytes())
    (folder / "Cat" / "2.jpg").write_bytes(png_bytes())  # a PNG named .jpg
    (folder / "Cat" / "3.jpg").write_bytes(b"")
    (folder / "Dog" / "1.jpg").write_bytes(jpeg_bytes((20, 160, 40)))
    (folder / "Dog" / "2.jpg").write_bytes(jpeg_bytes((90, 90, 90), (200, 150))[:-400])  # truncated
    (folder / "Dog" / "Thumbs.db").write_bytes(b"not an image")  # ignored, like in PetImages


def test_filter_corrupt_images_reports_and_skips(tmp_path):
    make_image_folder(tmp_path / "PetImages")
    report = data.filter_corrupt_images(tmp_path / "PetImages")

    assert report.checked == {"Cat": 3, "Dog": 2}
    assert report.skipped_per_class == {"Cat": 2, "Dog": 1}
    reasons = {path.parent.name + "/" + path.name: why for items in report.skipped.values() for path, why in items}
    assert reasons.keys() == {"Cat/2.jpg", "Cat/3.jpg", "Dog/2.jpg"}
    assert "PNG" in reasons["Cat/2.jpg"]
    assert "zero-byte" in reasons["Cat/3.jpg"]
    assert "truncated" in reasons["Dog/2.jpg"]
    assert "skipped 3 (Cat: 2, Dog: 1)" in str(report)
    assert (tmp_path / "PetImages" / "Cat" / "2.jpg").exists(), "without quarantine_dir nothing moves"


def test_filter_corrupt_images_can_move_bad_files(tmp_path):
    make_image_folder(tmp_path / "PetImages")
    pets, rejected = tmp_path / "PetImages", tmp_path / "rejected"
    data.filter_corrupt_images(pets, quarantine_dir=rejected, check_with_tensorflow=True)

    remaining = sorted(p.relative_to(pets).as_posix() for p in pets.rglob("*.jpg"))
    moved = sorted(p.relative_to(rejected).as_posix() for p in rejected.rglob("*"))
    assert remaining == ["Cat/1.jpg", "Dog/1.jpg"]
    assert moved == ["Cat", "Cat/2.jpg", "Cat/3.jpg", "Dog", "Dog/2.jpg"]
    assert data.filter_corrupt_images(pets).total_skipped == 0


# --------------------------------------------------------------------------- subsets


def test_extract_dogs_vs_cats_unzips_petimages_once(server, use_manifest):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme[1].txt", "not part of PetImages")
        for folder in ("Cat", "Dog"):
            for number in range(3):
                archive.writestr(f"PetImages/{folder}/{number}.jpg", jpeg_bytes())
    payload = buffer.getvalue()
    server.routes["/pets.zip"] = Route(payload)
    use_manifest(manifest_entry("dogs_vs_cats", server.base_url + "/pets.zip", payload))

    root = data.extract_dogs_vs_cats()

    assert root == data.data_dir() / "PetImages"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.jpg")) == [
        f"{folder}/{number}.jpg" for folder in ("Cat", "Dog") for number in range(3)
    ]
    assert sorted(p.name for p in data.data_dir().iterdir()) == ["PetImages", "dogs_vs_cats.bin"]
    assert data.extract_dogs_vs_cats() == root
    assert server.requests == ["/pets.zip"]


SMALL_COUNTS = {"train": 3, "validation": 2, "test": 3}


def make_fake_petimages(root: Path) -> None:
    """12 numbered images per class; Cat/1, Cat/3 and Dog/10 are broken."""
    for label, folder in enumerate(["Cat", "Dog"]):
        (root / folder).mkdir(parents=True)
        for number in range(12):
            content = jpeg_bytes((20 * number, 100 * label, 50))
            (root / folder / f"{number}.jpg").write_bytes(content)
    (root / "Cat" / "1.jpg").write_bytes(b"")
    (root / "Cat" / "3.jpg").write_bytes(png_bytes())
    (root / "Dog" / "10.jpg").write_bytes(jpeg_bytes((1, 2, 3), (300, 200))[:-500])


def image_number(name: str) -> int:
    return int(name.split(".")[1])  # cat.10.jpg -> 10


def listing(root: Path) -> dict[str, list[str]]:
    """Files per split/class folder, in numeric order (cat.2.jpg before cat.10.jpg)."""
    return {
        f"{split}/{cls}": sorted((p.name for p in (root / split / cls).iterdir()), key=image_number)
        for split in ("train", "validation", "test")
        for cls in ("cats", "dogs")
    }


def test_subsets_take_consecutive_valid_images_in_numeric_order(capsys):
    make_fake_petimages(data.data_dir() / "PetImages")  # where extract_dogs_vs_cats() keeps it
    root = data.make_cats_vs_dogs_small(counts=SMALL_COUNTS)

    assert root == data.data_dir() / "cats_vs_dogs_small"
    assert listing(root) == {
        "train/cats": ["cat.0.jpg", "cat.2.jpg", "cat.4.jpg"],
        "train/dogs": ["dog.0.jpg", "dog.1.jpg", "dog.2.jpg"],
        "validation/cats": ["cat.5.jpg", "cat.6.jpg"],
        "validation/dogs": ["dog.3.jpg", "dog.4.jpg"],
        "test/cats": ["cat.7.jpg", "cat.8.jpg", "cat.9.jpg"],
        "test/dogs": ["dog.5.jpg", "dog.6.jpg", "dog.7.jpg"],
    }
    source = data.data_dir() / "PetImages"
    assert (root / "test/cats/cat.9.jpg").read_bytes() == (source / "Cat/9.jpg").read_bytes()
    record = json.loads((root / data.BUILD_RECORD).read_text())
    assert [name for name, _ in record["skipped"]["Cat"]] == ["1.jpg", "3.jpg"]
    assert "Cat: 2" in capsys.readouterr().out
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(".")] == [], "temporary build folder left"


def test_existing_subsets_are_verified_not_rebuilt():
    make_fake_petimages(data.data_dir() / "PetImages")
    root = data.make_cats_vs_dogs_small(counts=SMALL_COUNTS)
    stamp = (root / data.BUILD_RECORD).stat().st_mtime_ns

    assert data.make_cats_vs_dogs_small(counts=SMALL_COUNTS) == root
    assert (root / data.BUILD_RECORD).stat().st_mtime_ns == stamp

    with pytest.raises(data.DataError, match="images per class"):
        data.make_cats_vs_dogs_small(counts={"train": 4, "validation": 2, "test": 3})
    (root / "validation/dogs/dog.4.jpg").unlink()
    with pytest.raises(data.DataError, match=r"1 missing \(e\.g\. validation/dogs/dog\.4\.jpg\)"):
        data.make_cats_vs_dogs_small(counts=SMALL_COUNTS)
    assert (root / "train/cats/cat.0.jpg").exists(), "a damaged build is reported, never deleted"


def test_subsets_need_enough_valid_images():
    make_fake_petimages(data.data_dir() / "PetImages")
    with pytest.raises(data.DataError, match="only 10 valid"):
        data.make_cats_vs_dogs_small(counts={"train": 6, "validation": 3, "test": 3})
    assert not (data.data_dir() / "cats_vs_dogs_small").exists()


# --------------------------------------------------------------------------- embedded data


def test_embedded_mnist_has_mnist_shapes_dtypes_and_is_deterministic(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    (x_train, y_train), (x_test, y_test) = data.load_mnist()

    assert x_train.shape == (1500, 28, 28) and x_test.shape == (297, 28, 28)
    assert y_train.shape == (1500,) and y_test.shape == (297,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert x_train.max() == 255 and x_train.min() == 0
    assert x_train[:, :4].max() == 0 and x_train[:, :, -4:].max() == 0, "digits sit in a centred 20x20 box"
    assert set(y_train) == set(y_test) == set(range(10))
    assert "embedded profile" in capsys.readouterr().out

    first = (data.data_dir() / "embedded" / data.EMBEDDED_DIGITS_FILE).read_bytes()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "second-cache"))
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # a later clock must not change the file
    (x_again, _), _ = data.load_mnist()
    assert (data.data_dir() / "embedded" / data.EMBEDDED_DIGITS_FILE).read_bytes() == first
    np.testing.assert_array_equal(x_again, x_train)


def test_embedded_standin_subsets_load_with_keras(monkeypatch, capsys):
    keras = pytest.importorskip("keras")
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    root = data.make_cats_vs_dogs_small()
    assert "synthetic stand-in images, not real photos" in capsys.readouterr().out

    expected = {"train": 400, "validation": 200, "test": 1000}  # both classes
    for split, count in expected.items():
        dataset = keras.utils.image_dataset_from_directory(root / split, image_size=(180, 180), batch_size=32)
        assert dataset.class_names == ["cats", "dogs"]
        assert len(dataset.file_paths) == count
    images, labels = next(iter(dataset))
    assert tuple(images.shape) == (32, 180, 180, 3) and set(np.asarray(labels)) == {0, 1}
    assert "Found 200 files belonging to 2 classes." in capsys.readouterr().out

    report = data.filter_corrupt_images(data.extract_dogs_vs_cats())
    assert 0 < report.total_skipped < 0.1 * sum(report.checked.values()), "stand-ins include a few broken files"


def test_a_subset_build_that_another_process_finished_first_is_checked_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    target = tmp_path / "small"
    rename = os.replace

    def another_process_first(source, destination):
        if Path(destination) == target and not target.exists():
            shutil.copytree(source, target)  # the same build, finished a moment earlier
        return rename(source, destination)

    monkeypatch.setattr(os, "replace", another_process_first)
    assert data.make_cats_vs_dogs_small(target, {"train": 2, "validation": 1, "test": 1}) == target
    assert len(list(target.glob("*/*/*.jpg"))) == 8
    assert not list(tmp_path.glob(".small.*")), "the losing build's temporary folder is removed"


def test_standins_drawn_by_another_version_are_redrawn(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    counts = {"train": 3, "validation": 1, "test": 1}
    subsets = data.make_cats_vs_dogs_small(counts=counts)
    embedded = data.data_dir() / "embedded"
    assert (embedded / "STANDIN_VERSION").read_text().strip() == data.STANDIN_VERSION
    cat = embedded / "PetImages" / "Cat" / "0.jpg"
    cat.write_bytes(b"drawn by an older generator")
    (embedded / "STANDIN_VERSION").write_text("1\n")

    assert data.make_cats_vs_dogs_small(counts=counts) == subsets  # rebuilt, not refused by BUILD.json
    assert cat.read_bytes() == standins._standin_file_bytes(0, 0)
    assert (subsets / "train" / "cats" / "cat.0.jpg").read_bytes() == cat.read_bytes()
    assert (embedded / "STANDIN_VERSION").read_text().strip() == data.STANDIN_VERSION


def test_standin_images_are_deterministic():
    first = standins._standin_file_bytes(1, 5)
    assert standins._standin_file_bytes(1, 5) == first
    assert standins._standin_file_bytes(0, 5) != first
    assert first[6:10] == b"JFIF"


# --------------------------------------------------------------------------- manifest and CLI


def test_shipped_manifest_lists_the_course_files(monkeypatch):
    monkeypatch.setattr(manifest, "MANIFEST_PATH", REPO / "datasets" / "manifest.json")
    # the first five; later assignments' entries follow (06's: tests/test_visualize.py)
    assert data.dataset_names()[:5] == ["mnist", "dogs_vs_cats", "vgg16_notop", "qmnist_test_images", "qmnist_test_labels"]
    mnist, cats, vgg, qmnist_images, qmnist_labels = (data.dataset_info(name) for name in data.dataset_names()[:5])
    assert (mnist.size, mnist.algorithm, mnist.checksum[:8]) == (11_490_434, "sha256", "731c5ac6")
    assert (cats.size, cats.algorithm, cats.checksum[:8]) == (824_887_076, "sha256", "b7974bd0")
    assert (vgg.size, vgg.algorithm, vgg.checksum) == (58_889_256, "md5", "6d6bbae143d832006294945121d1f1fc")
    # the grader's held-out digits (autograder/holdout.py; tests/test_holdout.py checks the entries' sources)
    assert (qmnist_images.size, qmnist_images.algorithm) == (9_742_279, "md5")
    assert (qmnist_labels.size, qmnist_labels.algorithm) == (526_800, "sha256")
    entries = (mnist, cats, vgg, qmnist_images, qmnist_labels)
    assert all(info.licence and info.citation and info.url.startswith("https://") for info in entries)


def test_cli_fetch_all_verify_and_info(server, use_manifest, capsys):
    server.routes["/tiny.bin"] = Route(PAYLOAD)
    server.routes["/weights.h5"] = Route(OTHER_PAYLOAD)
    use_manifest(
        manifest_entry("tiny", server.base_url + "/tiny.bin", PAYLOAD),
        manifest_entry("weights", server.base_url + "/weights.h5", OTHER_PAYLOAD, algorithm="md5"),
    )
    assert cli_main(["fetch", "--all"]) == 0
    out = capsys.readouterr().out
    assert "tiny: downloaded, verified" in out and "weights: downloaded, verified" in out and "md5 ok" in out

    assert cli_main(["verify"]) == 0
    (data.data_dir() / "weights.bin").write_bytes(b"x" * len(OTHER_PAYLOAD))
    assert cli_main(["info"]) == 0
    assert "corrupt: its md5 is" in capsys.readouterr().out
    assert cli_main(["verify", "--all"]) == 1
    captured = capsys.readouterr()
    assert "tiny: verified" in captured.out and "FAILED weights: the cached file is corrupt" in captured.err


def test_cli_fails_clearly(server, use_manifest, monkeypatch, capsys):
    use_manifest(manifest_entry("tiny", server.base_url + "/gone.bin", PAYLOAD))
    assert cli_main(["fetch", "tiny"]) == 1
    assert "download failed" in capsys.readouterr().err
    assert cli_main(["fetch", "nope"]) == 1
    assert "Unknown dataset 'nope'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        cli_main(["fetch"])
    assert usage.value.code == 2
    monkeypatch.setenv("COURSE_DATA_PROFILE", "bogus")
    assert cli_main(["fetch", "--all"]) == 1
    assert "is not a data profile" in capsys.readouterr().err


def test_the_package_refuses_patches_that_would_change_nothing(monkeypatch):
    """cnn_course.data re-exports its modules' names, and the modules read their own: rebinding a
    name on the package would change nothing, so it is refused, naming the module to patch."""
    with pytest.raises(AttributeError, match=r"cnn_course\.data\.manifest\.MANIFEST_PATH.*set or patch it there"):
        monkeypatch.setattr(data, "MANIFEST_PATH", Path("elsewhere.json"))
    with pytest.raises(AttributeError, match=r"from cnn_course\.data import dogs_vs_cats"):
        data.FULL_SUBSET_COUNTS = {"train": 1, "validation": 1, "test": 1}
    with pytest.raises(AttributeError, match=r"cnn_course\.data\.downloads\.fetch"):
        monkeypatch.setattr(data, "fetch", lambda name: None)
    assert data.fetch is downloads.fetch and data.FULL_SUBSET_COUNTS["train"] == 1000
    with pytest.raises(AttributeError, match="has no attribute"):  # private names live in their modules only
        monkeypatch.setattr(data, "_open_url", lambda url: None)
    monkeypatch.setattr(data, "fetch", downloads.fetch)  # the same object back (a patch's undo) is harmless


def test_module_runs_as_a_command(tmp_path):
    env = {**os.environ, "COURSE_DATA_DIR": str(tmp_path / "cli-cache"), "COURSE_DATA_PROFILE": "embedded"}
    result = subprocess.run(
        [sys.executable, "-m", "cnn_course.data", "info"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "profile:   embedded" in result.stdout and "mnist" in result.stdout


def test_manifest_ships_inside_the_package():
    """datasets/manifest.json is the one manifest; the package reaches it through a link that
    wheel builds turn into a copy, so `pip install` outside the repository (Colab) works."""
    import cnn_course
    link = Path(cnn_course.__file__).with_name("manifest.json")  # in cnn_course/, the data package's parent
    assert link.is_symlink() and link.resolve() == (Path(__file__).resolve().parents[1] / "datasets" / "manifest.json")
    import subprocess
    import sys
    used = subprocess.run([sys.executable, "-c", "import cnn_course.data as d; print(d.MANIFEST_PATH)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert Path(used) == link


# --------------------------------------------------------------------------- the committed digits

# The embedded MNIST as scikit-learn's load_digits() made it before the file was committed
# (uint8 arrays x_train, y_train, x_test, y_test): cached trained models and floors rest on them.
EMBEDDED_MNIST_SHA256 = "7cdac79d9e9f355d2b32191ef342a7fc3adcbf482a309d91732ffaa4c66820dc"


def test_the_embedded_digits_are_the_ones_scikit_learn_gave():
    arrays = mnist.embedded_digits()
    digest = hashlib.sha256()
    for key in ("x_train", "y_train", "x_test", "y_test"):
        digest.update(key.encode() + arrays[key].tobytes())
    assert digest.hexdigest() == EMBEDDED_MNIST_SHA256
    assert arrays["x_train"].shape == (1500, 28, 28) and arrays["x_test"].dtype == np.uint8
    assert set(np.unique(arrays["y_train"])) == set(range(10))


def test_a_damaged_digits_file_is_refused_with_what_to_do(monkeypatch, tmp_path):
    listed = json.loads(data.STANDIN_MANIFEST_PATH.read_text())
    entry = next(e for e in listed["standin_files"] if e["name"] == data.DIGITS_STANDIN)
    damaged = tmp_path / entry["filename"]
    damaged.write_bytes(data.standin_file(data.DIGITS_STANDIN).read_bytes()[:-10])
    monkeypatch.setattr(manifest, "STANDIN_DIR", tmp_path)
    with pytest.raises(data.DataUnavailable, match=f"git checkout -- {entry['path']}"):
        mnist.embedded_digits()
    damaged.unlink()
    with pytest.raises(data.DataUnavailable, match="missing"):
        mnist.embedded_digits()
