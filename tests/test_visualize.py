"""Assignment 06's data and helpers: the manifest entries for the full profile (VGG16 with its top,
the ImageNet class index, the elephant photograph) and cnn_course.visualize."""

import json
from pathlib import Path

import pytest

from cnn_course import data


@pytest.fixture
def shipped(monkeypatch):
    monkeypatch.setattr(data, "MANIFEST_PATH", Path(data.__file__).resolve().parent.parent / "datasets" / "manifest.json")


def test_manifest_lists_06s_files(shipped):
    names = data.dataset_names()
    assert {"vgg16_top", "imagenet_class_index", "african_elephant"} <= set(names)
    top, index, elephant = (data.dataset_info(n) for n in ("vgg16_top", "imagenet_class_index", "african_elephant"))
    # Keras's own checks (keras/src/applications/vgg16.py, imagenet_utils.py)
    assert (top.size, top.algorithm, top.checksum) == (553_467_096, "md5", "64373286793e3c8b2b4e3219cbf3544b")
    assert top.filename == "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    assert (index.size, index.algorithm, index.checksum) == (35_363, "md5", "c2c37ea517e94d9795004a39431a14cb")
    assert (elephant.size, elephant.algorithm) == (55_490, "sha256")
    # a URL at a fixed commit: its content cannot change under the checksum
    assert "/5c6aff4928b4caf6efb35b0cbf699a96689ef303/" in elephant.url
    assert all(info.licence and info.citation and info.url.startswith("https://") for info in (top, index, elephant))


def test_a_missing_file_of_the_full_profile_is_data_unavailable_with_what_to_do(shipped, monkeypatch, tmp_path):
    # No network here: point the download at a closed port, so the failure is immediate.
    monkeypatch.setenv("COURSE_DATA_PROFILE", "full")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    from cnn_course import visualize
    original = data._manifest

    def closed_port():
        return {name: (info.__class__(**{**info.__dict__, "url": "http://127.0.0.1:9/" + info.filename}))
                for name, info in original().items()}
    monkeypatch.setattr(data, "_manifest", closed_port)
    with pytest.raises(data.DataUnavailable) as raised:
        visualize.imagenet_class_index()
    message = str(raised.value)
    assert "imagenet_class_index" in message and "Pre-stage the file" in message
    assert "COURSE_DATA_PROFILE=embedded" in message
