"""Tests of autograder/holdout.py: the grader-held test sets for handed-in trained models.

The embedded profile is tested on the real generators; the full profile on small fakes (a fake
QMNIST of 12,000 examples behind a test manifest, a fake PetImages folder), with the data
layer's real fetch, checksum and corrupt-image code. Nothing here touches the internet.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autograder import holdout
from cnn_course import data
from cnn_course.data import dogs_vs_cats, downloads, drawings, manifest, mnist, standins

REPO = Path(__file__).resolve().parents[1]
SECRET = b"test-course-secret-2024"
OTHER_SECRET = b"another course's secret"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Fresh cache dir, no profile, the shipped manifest, no network, an empty holdout cache."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("COURSE_DATA_PROFILE", raising=False)
    monkeypatch.setattr(downloads, "_verified_files", {})  # patched in the modules that read them
    monkeypatch.setattr(manifest, "MANIFEST_PATH", REPO / "datasets" / "manifest.json")

    def offline(url):
        raise urllib.error.URLError(f"no network in the tests ({url})")

    monkeypatch.setattr(downloads, "_open_url", offline)
    holdout.clear_cache()
    yield
    holdout.clear_cache()


def _digest(*arrays) -> str:
    hasher = hashlib.sha256()
    for array in arrays:
        hasher.update(str((array.dtype, array.shape)).encode())
        hasher.update(np.ascontiguousarray(array).tobytes())
    return hasher.hexdigest()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """Both embedded sets for SECRET and OTHER_SECRET, made once; and what they left behind."""
    with pytest.MonkeyPatch.context() as patch:
        cache, temp = tmp_path_factory.mktemp("embedded-cache"), tmp_path_factory.mktemp("tmp")
        patch.setenv("COURSE_DATA_PROFILE", "embedded")
        patch.setenv("COURSE_DATA_DIR", str(cache))
        patch.setattr(tempfile, "tempdir", str(temp))
        holdout.clear_cache()
        sets = {
            (kind, secret): make(secret)
            for kind, make in (("digits", holdout.mnist_holdout), ("pets", holdout.cats_vs_dogs_holdout))
            for secret in (SECRET, OTHER_SECRET)
        }
        holdout.clear_cache()
    return sets, sorted(p.name for p in cache.iterdir()), sorted(p.name for p in temp.iterdir())


# --------------------------------------------------------------------------- embedded digits


def test_embedded_digits_look_like_mnist_and_are_balanced(embedded):
    images, labels, description = embedded[0]["digits", SECRET]
    assert images.shape == (600, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (600,) and labels.dtype == np.int64
    assert np.bincount(labels, minlength=10).tolist() == [60] * 10
    assert images.min() == 0 and images.reshape(600, -1).max(axis=1).min() >= 150, "every digit has ink"
    assert not images[:, [0, -1], :].any() and not images[:, :, [0, -1]].any(), "a margin, like MNIST"
    assert not images.flags.writeable and not labels.flags.writeable, "shared by the whole class"
    assert "600" in description and "embedded profile" in description


def test_embedded_digits_are_new_but_still_the_labelled_digits(embedded):
    images, labels, _ = embedded[0]["digits", SECRET]
    public = mnist.embedded_digits()  # everything a student has in the embedded profile
    public_images = np.concatenate([public["x_train"], public["x_test"]]).reshape(1797, -1).astype(np.float32)
    public_labels = np.concatenate([public["y_train"], public["y_test"]])
    flat = images.reshape(len(images), -1).astype(np.float32)
    distances = np.stack([np.abs(image - public_images).mean(axis=1) for image in flat])  # (600, 1797)

    assert distances.min() > 2.0, "no held-out digit is (almost) a public one"
    nearest = public_labels[distances.argmin(axis=1)]
    assert (nearest == labels).mean() > 0.9, "moderate distortions: the nearest public digit is mostly the same digit"


def test_embedded_digits_depend_on_the_secret(embedded):
    first, other = embedded[0]["digits", SECRET], embedded[0]["digits", OTHER_SECRET]
    assert (first[0] != other[0]).any(axis=(1, 2)).mean() > 0.95


# --------------------------------------------------------------------------- embedded dogs vs cats


def test_embedded_dogs_vs_cats_as_keras_loads_them(embedded):
    images, labels, description = embedded[0]["pets", SECRET]
    assert images.shape == (200, 180, 180, 3) and images.dtype == np.float32
    assert labels.shape == (200,) and labels.dtype == np.int64
    assert labels.tolist() == [0] * 100 + [1] * 100, "cats first, 0 = cat"
    assert images.min() >= 0 and images.max() <= 255 and images.max() > 200
    assert not images.flags.writeable
    assert "100 cats and 100 dogs" in description and "embedded profile" in description


def test_embedded_dogs_vs_cats_are_not_the_public_standins(embedded, monkeypatch):
    keras = pytest.importorskip("keras")
    images, _, _ = embedded[0]["pets", SECRET]
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    root = data.make_cats_vs_dogs_small()  # every stand-in the students have
    public = []
    for split in ("train", "validation", "test"):
        dataset = keras.utils.image_dataset_from_directory(root / split, image_size=(180, 180), shuffle=False)
        public += [np.asarray(batch) for batch, _ in dataset]
    public = np.concatenate(public)
    assert len(public) == 2 * sum(data.EMBEDDED_SUBSET_COUNTS.values())

    def pooled(batch):  # 4x4 means: 45x45x3, plenty to tell drawings apart
        return batch.reshape(len(batch), 45, 4, 45, 4, 3).mean(axis=(2, 4)).reshape(len(batch), -1)

    public, held_out = pooled(public), pooled(np.asarray(images))
    nearest = np.array([np.abs(image - public).mean(axis=1).min() for image in held_out])
    assert nearest.min() > 5.0, "each held-out drawing is far from every public one (pixel values 0..255)"


def test_embedded_dogs_vs_cats_depend_on_the_secret(embedded):
    first, other = embedded[0]["pets", SECRET][0], embedded[0]["pets", OTHER_SECRET][0]
    assert all((a != b).any() for a, b in zip(first, other))


def test_embedded_sets_write_nothing_where_a_student_could_look(embedded):
    _, cache_left, temp_left = embedded
    assert cache_left == [], "nothing in the course data cache"
    assert temp_left == [], "the temporary JPEG folder is removed"


def test_the_sets_are_the_same_in_another_process(embedded):
    pytest.importorskip("keras")
    script = (
        "import hashlib, numpy as np, sys\n"
        "from autograder import holdout\n"
        f"secret = {SECRET!r}\n"
        "for make in (holdout.mnist_holdout, holdout.cats_vs_dogs_holdout):\n"
        "    images, labels, _ = make(secret)\n"
        "    hasher = hashlib.sha256()\n"
        "    for array in (images, labels):\n"
        "        hasher.update(str((array.dtype, array.shape)).encode())\n"
        "        hasher.update(np.ascontiguousarray(array).tobytes())\n"
        "    print(hasher.hexdigest())\n"
    )
    env = {**os.environ, "COURSE_DATA_PROFILE": "embedded", "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    sets = embedded[0]
    assert run.stdout.split() == [_digest(*sets["digits", SECRET][:2]), _digest(*sets["pets", SECRET][:2])]


def test_descriptions_never_reveal_the_secret(embedded):
    for (_, secret), (_, _, description) in embedded[0].items():
        text = description.lower()
        for leak in (secret.decode(), secret.hex(), hashlib.sha256(secret).hexdigest()):
            assert leak.lower() not in text and leak[:8].lower() not in text
        assert description.count(".") <= 1 and len(description) < 200, "one short sentence"


# --------------------------------------------------------------------------- cache and secret


def test_one_set_per_profile_data_dir_and_secret_per_process(monkeypatch, tmp_path):
    made = []

    def fake(secret):
        made.append(secret)
        return np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.int64), "two test digits"

    monkeypatch.setattr(holdout, "_embedded_digits", fake)
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    first = holdout.mnist_holdout(SECRET)
    assert holdout.mnist_holdout(bytearray(SECRET)) is first and len(made) == 1
    holdout.mnist_holdout(OTHER_SECRET)
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "elsewhere"))
    holdout.mnist_holdout(SECRET)
    assert made == [SECRET, OTHER_SECRET, SECRET]
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0, 0] = 1

    with pytest.raises(TypeError, match="bytes"):
        holdout.mnist_holdout("a str is not a secret")
    with pytest.raises(ValueError, match="empty"):
        holdout.mnist_holdout(b"")


def test_drawing_seed_leaves_the_course_standins_unchanged():
    """The stand-ins' floors were calibrated on these exact files (STANDIN_VERSION 4)."""
    assert data.STANDIN_VERSION == "4", "new drawings: update these hashes with the new version"
    expected = {
        (0, 0): "887edebd72ed27ee4073c969b99e8264eaed1f0a1e4b80541076045bfd5a977a",
        (1, 5): "05bff227035bbfd55b361fcd28d065f996a07c5e827d6f057c1f9d7ff56b8aff",
        (0, 73): "7a5671adeeeeea4a8fc7b1977a3d3662a9e0e5101c48edf563968cb738d603f5",  # PNG named .jpg
        (0, 110): "aaabc570c1c663eabb6c4bb81b1f0a25e8e400f0a28d7d6db4ca0418e40b254b",  # truncated
    }
    for (label, number), digest in expected.items():
        assert hashlib.sha256(standins._standin_file_bytes(label, number)).hexdigest() == digest
    default = np.asarray(drawings.draw_standin(1, 5))
    assert np.array_equal(np.asarray(drawings.draw_standin(1, 5, seed=drawings._STANDIN_SEED)), default)
    assert not np.array_equal(np.asarray(drawings.draw_standin(1, 5, seed=12345)), default)


# --------------------------------------------------------------------------- manifest


def test_manifest_lists_the_qmnist_test_files():
    images, labels = data.dataset_info(holdout.QMNIST_IMAGES), data.dataset_info(holdout.QMNIST_LABELS)
    base = "https://raw.githubusercontent.com/facebookresearch/qmnist/master/"
    # torchvision/datasets/mnist.py (class QMNIST): URLs and md5s; sizes: Mila's git-annex keys
    assert images.filename == "qmnist-test-images-idx3-ubyte.gz" and images.url == base + images.filename
    assert (images.size, images.algorithm, images.checksum) == (9_742_279, "md5", "1394631089c404de565df7b7aeaf9412")
    assert labels.filename == "qmnist-test-labels-idx2-int.gz" and labels.url == base + labels.filename
    assert (labels.size, labels.algorithm) == (526_800, "sha256")
    assert labels.checksum == "9fbcbe594c3766fdf4f0b15c5165dc0d1e57ac604e01422608bb72c906030d06"
    for info in (images, labels):
        assert "BSD" in info.licence and "Yadav" in info.citation and "Bottou" in info.citation
    raw = json.loads((REPO / "datasets" / "manifest.json").read_text())["datasets"]
    notes = {entry["name"]: entry.get("note", "") for entry in raw}
    assert "md5" in notes[holdout.QMNIST_IMAGES] and "torchvision" in notes[holdout.QMNIST_IMAGES]


# --------------------------------------------------------------------------- full profile: QMNIST


def idx_bytes(array: np.ndarray, type_code: int) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    big_endian = array.astype(array.dtype.newbyteorder(">"))
    return gzip.compress(header + big_endian.tobytes(), mtime=0)


def fake_qmnist(count=12_000):
    """Images that carry their index in their first two pixels; extended labels like QMNIST's."""
    index = np.arange(count)
    images = np.zeros((count, 28, 28), np.uint8)
    images[:, 0, 0], images[:, 0, 1] = index // 256, index % 256
    images[:, 14, 10:18] = 255
    labels = np.zeros((count, 8), np.int32)
    labels[:, 0], labels[:, 2], labels[:, 5] = (index * 7) % 10, 2100 + index % 500, index + 100_000
    return idx_bytes(images, 0x08), idx_bytes(labels, 0x0C)


def use_files(tmp_path, monkeypatch, files: dict[str, bytes]):
    """A manifest for these files (name -> content), each already in the cache, verified by fetch."""
    entries = []
    for name, content in files.items():
        entries.append({"name": name, "description": "test", "url": f"http://127.0.0.1:9/{name}.gz",
                        "filename": f"{name}.gz", "size": len(content), "licence": "test", "citation": "test",
                        "checksum": {"algorithm": "sha256", "value": hashlib.sha256(content).hexdigest()}})
        (data.data_dir() / f"{name}.gz").parent.mkdir(parents=True, exist_ok=True)
        (data.data_dir() / f"{name}.gz").write_bytes(content)
    manifest_path = tmp_path / "manifest.json"
    manifest_path.write_text(json.dumps({"schema_version": 1, "datasets": entries}))
    monkeypatch.setattr(manifest, "MANIFEST_PATH", manifest_path)


def test_full_digits_are_secret_chosen_lost_qmnist_digits(tmp_path, monkeypatch):
    images_gz, labels_gz = fake_qmnist()
    use_files(tmp_path, monkeypatch, {holdout.QMNIST_IMAGES: images_gz, holdout.QMNIST_LABELS: labels_gz})
    monkeypatch.setattr(holdout, "FULL_DIGITS", 1_500)  # of the fake's 2,000 lost digits

    images, labels, description = holdout.mnist_holdout(SECRET)
    assert images.shape == (1_500, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1_500,) and labels.dtype == np.int64
    chosen = images[:, 0, 0].astype(int) * 256 + images[:, 0, 1]
    assert chosen.min() >= 10_000, "only lost digits: none of MNIST's published test set"
    assert len(set(chosen)) == 1_500
    assert np.array_equal(labels, (chosen * 7) % 10), "labels are column 0 of the extended labels"
    assert (images[:, 14, 10:18] == 255).all()
    assert "QMNIST" in description and SECRET.decode() not in description

    holdout.clear_cache()
    again = holdout.mnist_holdout(SECRET)
    assert np.array_equal(again[0], images) and np.array_equal(again[1], labels)
    other = holdout.mnist_holdout(OTHER_SECRET)[0]
    other_chosen = set(other[:, 0, 0].astype(int) * 256 + other[:, 0, 1])
    assert other_chosen != set(chosen) and min(other_chosen) >= 10_000


def test_full_digits_need_enough_lost_digits(tmp_path, monkeypatch):
    images_gz, labels_gz = fake_qmnist()
    use_files(tmp_path, monkeypatch, {holdout.QMNIST_IMAGES: images_gz, holdout.QMNIST_LABELS: labels_gz})
    with pytest.raises(data.DataError, match="2000 lost test digits"):
        holdout.mnist_holdout(SECRET)  # 10,000 wanted


def test_read_idx_parses_and_rejects(tmp_path):
    array = np.arange(24, dtype=np.int32).reshape(2, 3, 4) - 5
    (tmp_path / "a.gz").write_bytes(idx_bytes(array, 0x0C))
    parsed = holdout.read_idx(tmp_path / "a.gz")
    assert parsed.dtype == np.int32 and parsed.dtype.isnative and np.array_equal(parsed, array)
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())
    (tmp_path / "plain").write_bytes(raw)
    assert np.array_equal(holdout.read_idx(tmp_path / "plain"), array)

    for name, content, problem in [
        ("short", raw[:-4], "needs 112 bytes"),
        ("long", raw + b"\0", "needs 112 bytes"),
        ("magic", b"\x01" + raw[1:], "not an IDX file"),
        ("type", raw[:2] + b"\x07" + raw[3:], "not an IDX file"),
        ("empty", b"", "not an IDX file"),
    ]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(data.DataError, match=problem):
            holdout.read_idx(tmp_path / name)
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(data.DataError, match="cannot be read"):
        holdout.read_idx(tmp_path / "bad.gz")


def test_full_profile_without_the_files_fails_and_never_uses_stand_ins(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "full")
    with pytest.raises(data.DataUnavailable) as digits:
        holdout.mnist_holdout(SECRET)
    message = str(digits.value)
    assert "qmnist-test-images-idx3-ubyte.gz" in message and "COURSE_DATA_PROFILE=embedded" in message
    assert "never substitutes stand-in data" in message

    with pytest.raises(data.DataUnavailable, match="kagglecatsanddogs"):
        holdout.cats_vs_dogs_holdout(SECRET)
    assert "stand-in" not in capsys.readouterr().out, "no stand-in data was made"
    assert not (data.data_dir() / "embedded").exists()
    assert holdout._cache == {}, "a failure is not cached"


# --------------------------------------------------------------------------- full profile: PetImages

SMALL_LECTURE = {"train": 4, "validation": 2, "test": 4}  # 10 valid images per class instead of 2,500


def jpeg_bytes(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), colour).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def colour(label: int, number: int) -> tuple[int, int, int]:
    return (8 * number, 60 + 120 * label, 200 - 4 * number)


def make_fake_petimages(root: Path, count=30) -> dict[str, set[int]]:
    """``count`` solid-colour photos per class (the colour says which); some broken. Returns the broken."""
    broken = {"Cat": {1, 3, 12, 20, 21}, "Dog": {10, 15, 27}}  # inside and after the lecture's first 10 valid
    for label, folder in enumerate(("Cat", "Dog")):
        (root / folder).mkdir(parents=True)
        for number in range(count):
            content = jpeg_bytes(colour(label, number))
            if number in broken[folder]:
                content = [b"", b"\x89PNG\r\n\x1a\n" + content, content[: len(content) // 2]][number % 3]
            (root / folder / f"{number}.jpg").write_bytes(content)
        (root / folder / "Thumbs.db").write_bytes(b"not an image")
    return broken


def identify(images: np.ndarray, labels: np.ndarray, count=30) -> list[tuple[int, int]]:
    """(label, number) of each loaded solid-colour image."""
    found = []
    for image, label in zip(images, labels):
        mean = image.reshape(-1, 3).mean(axis=0)
        number = min(range(count), key=lambda n: np.abs(mean - colour(int(label), n)).sum())
        assert np.abs(mean - colour(int(label), number)).max() < 3, "a known photo, of the class it is labelled"
        found.append((int(label), number))
    return found


@pytest.mark.parametrize("secret", [SECRET, OTHER_SECRET])
def test_full_dogs_vs_cats_skip_the_lecture_subsets_and_broken_files(secret, monkeypatch):
    pytest.importorskip("keras")
    monkeypatch.setenv("COURSE_DATA_PROFILE", "full")
    monkeypatch.setattr(dogs_vs_cats, "FULL_SUBSET_COUNTS", SMALL_LECTURE)
    monkeypatch.setattr(holdout, "FULL_PETS_PER_CLASS", 8)
    broken = make_fake_petimages(data.data_dir() / "PetImages")  # where extract_dogs_vs_cats() keeps it

    images, labels, description = holdout.cats_vs_dogs_holdout(secret)
    assert images.shape == (16, 180, 180, 3) and images.dtype == np.float32
    assert labels.tolist() == [0] * 8 + [1] * 8
    chosen = identify(images, labels)
    assert len(set(chosen)) == 16
    assert "none of them in the lecture subsets" in description

    lecture = data.make_cats_vs_dogs_small()  # the students' subsets, from the same folder
    in_lecture = {(0 if path.name.startswith("cat.") else 1, int(path.name.split(".")[1]))
                  for path in lecture.rglob("*.jpg")}
    assert len(in_lecture) == 20
    assert not set(chosen) & in_lecture, "no image of the lecture subsets"
    for label, folder in enumerate(("Cat", "Dog")):
        assert not {n for l, n in chosen if l == label} & broken[folder], "broken files are skipped"
        last_in_lecture = max(n for l, n in in_lecture if l == label)
        assert min(n for l, n in chosen if l == label) > last_in_lecture

    holdout.clear_cache()
    assert identify(*holdout.cats_vs_dogs_holdout(secret)[:2]) == chosen, "the same secret, the same photos"


def test_full_dogs_vs_cats_depend_on_the_secret(monkeypatch):
    pytest.importorskip("keras")
    monkeypatch.setenv("COURSE_DATA_PROFILE", "full")
    monkeypatch.setattr(dogs_vs_cats, "FULL_SUBSET_COUNTS", SMALL_LECTURE)
    monkeypatch.setattr(holdout, "FULL_PETS_PER_CLASS", 8)
    make_fake_petimages(data.data_dir() / "PetImages")
    first = set(identify(*holdout.cats_vs_dogs_holdout(SECRET)[:2]))
    assert set(identify(*holdout.cats_vs_dogs_holdout(OTHER_SECRET)[:2])) != first


def test_full_dogs_vs_cats_need_enough_unseen_photos(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "full")
    monkeypatch.setattr(dogs_vs_cats, "FULL_SUBSET_COUNTS", SMALL_LECTURE)
    monkeypatch.setattr(holdout, "FULL_PETS_PER_CLASS", 17)  # Cat has 30 - 10 - 5 broken = 15 after the lecture's
    make_fake_petimages(data.data_dir() / "PetImages")
    with pytest.raises(data.DataError, match="only 15 valid JPEG images after the 10"):
        holdout.cats_vs_dogs_holdout(SECRET)
