"""cnn_course.pretrained: VGG16's base on the full profile, the committed pretrained stand-in on the
embedded one, and the stand-in's provenance (tools/make_standin_base.py, its recorded recipe)."""

import contextlib
import hashlib
import importlib.util
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cnn_course import data, pretrained
from cnn_course.data import downloads, drawings, manifest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_standin_base", REPO / "tools" / "make_standin_base.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


def _entry():
    listed = json.loads((REPO / "datasets" / "manifest.json").read_text())
    return next(e for e in listed["standin_files"] if e["name"] == pretrained.STANDIN_NAME)


def test_the_committed_file_is_the_one_the_manifest_and_the_record_name():
    entry = _entry()
    committed = REPO / entry["path"]
    content = committed.read_bytes()
    assert len(content) == entry["size"] <= 2 * 2**20
    assert hashlib.sha256(content).hexdigest() == entry["sha256"]
    record = json.loads(committed.with_suffix(".json").read_text())
    assert (record["size"], record["sha256"]) == (entry["size"], entry["sha256"])
    assert pretrained.standin_base_path().resolve() == committed.resolve()  # the package's link


def test_the_recorded_recipe_is_the_scripts():
    """A changed recipe (or script constants) without retraining and recommitting the file fails here."""
    record = json.loads((REPO / _entry()["path"]).with_suffix(".json").read_text())
    assert record["recipe"] == tool.RECIPE
    assert record["recipe_sha256"] == tool.recipe_sha256() == _entry()["provenance"]["recipe_sha256"]
    assert record["recipe"]["drawing_code_version"] == drawings.DRAWING_CODE_VERSION
    assert record["recipe"]["filters"] == list(pretrained.STANDIN_FILTERS)


def test_the_source_task_is_not_the_target_task():
    """Other drawings than the course's stand-ins and the grader's (another seed), labelled by six
    traits that are fair coins: no cat/dog label, and every trait about half the time."""
    assert tool.SOURCE_SEED != drawings._STANDIN_SEED
    images, traits = tool.source_images(0, 40)
    assert images.shape == (40, 180, 180, 3) and images.dtype == np.uint8
    assert traits.shape == (40, len(drawings.TRAIT_ODDS))
    assert 0.25 < traits.mean() < 0.75
    # the same drawing twice is the same image: the source set is reproducible
    again, again_traits = tool.source_drawing(3)
    assert np.array_equal(again, images[3]) and np.array_equal(again_traits, traits[3])
    # the patched odds are gone afterwards: the course's stand-ins are drawn as always
    assert drawings._traits.__module__ == "cnn_course.data.drawings"


def test_the_source_task_keeps_the_pose_the_committed_base_was_trained_with():
    """The course's stand-ins changed pose in version 4; the source task's drawings did not, so the
    committed base stays the one its recipe describes. Drawings 0, 3, 17 and 999 and their traits,
    hashed before the change."""
    assert tool.SOURCE_POSE == drawings.Pose(head_radius=(0.3, 0.4), max_turn=25) != drawings.STANDIN_POSE
    digest = hashlib.sha256()
    for number in (0, 3, 17, 999):
        image, traits = tool.source_drawing(number)
        digest.update(image.tobytes())
        digest.update(traits.tobytes())
    assert digest.hexdigest() == "35d925462ddc6e0a622ced42370dab5e3c076eb428ddd99a7f5f5e2eb3b5e7ef"


def test_the_embedded_base_has_vgg16s_layers_and_announces_itself(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    base = pretrained.load_conv_base()
    assert STANDIN_NOTICE_PRINTED(capsys)
    assert base.name == "vgg16"
    assert [layer.name for layer in base.layers[1:]] == pretrained.conv_layer_names()
    assert base.count_params() == 230_568 and tuple(base.output_shape[1:]) == (5, 5, 64)
    smaller = pretrained.load_conv_base((96, 96, 3))  # fully convolutional: the same weights on another size
    assert tuple(smaller.output_shape[1:]) == (3, 3, 64)
    assert all(np.array_equal(a, b) for a, b in zip(smaller.get_weights(), base.get_weights()))


def STANDIN_NOTICE_PRINTED(capsys) -> bool:
    return pretrained.STANDIN_NOTICE in capsys.readouterr().out


def test_the_pretrained_features_carry_the_source_traits():
    """The committed base reproduces its source task: a logistic regression per trait on its frozen
    features, fitted on half of 96 source validation drawings, tells the traits of the other half far
    above chance, and far better than the same architecture with random weights."""
    import keras
    record = json.loads((REPO / _entry()["path"]).with_suffix(".json").read_text())
    images, traits = tool.source_images(tool.RECIPE["train_images"], 96)
    with contextlib.redirect_stdout(io.StringIO()):
        base = pretrained.load_conv_base()
    trained = np.mean(list(tool.frozen_feature_accuracy(base, images, traits).values()))
    keras.utils.set_random_seed(0)
    random = np.mean(list(tool.frozen_feature_accuracy(
        pretrained.build_vgg_shaped_base(filters=pretrained.STANDIN_FILTERS, seed=1), images, traits).values()))
    recorded = np.mean(list(record["validation_trait_accuracy"].values()))
    assert trained >= 0.75 and trained >= random + 0.1, (trained, random, recorded)


def test_a_damaged_stand_in_is_refused_with_what_to_do(monkeypatch, tmp_path):
    entry = _entry()
    damaged = tmp_path / entry["filename"]
    shutil.copy(REPO / entry["path"], damaged)
    with open(damaged, "r+b") as handle:
        handle.seek(1000)
        handle.write(b"\x00" * 16)
    monkeypatch.setattr(manifest, "STANDIN_DIR", tmp_path)  # where standin_file reads it
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    with pytest.raises(data.DataUnavailable, match="git checkout"):
        pretrained.load_conv_base()
    damaged.unlink()
    with pytest.raises(data.DataUnavailable, match="missing"):
        pretrained.load_conv_base()


def test_the_full_profile_never_falls_back_to_the_stand_in(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "full")
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))

    def offline(request, timeout):
        raise OSError("no network here")

    monkeypatch.setattr(downloads.urllib.request, "urlopen", offline)
    with pytest.raises(data.DataUnavailable) as raised:
        pretrained.load_conv_base()
    message = str(raised.value)
    assert "vgg16_notop" in message and "COURSE_DATA_PROFILE=embedded" in message
    assert "6d6bbae143d832006294945121d1f1fc" in message


def test_preprocess_input_is_vgg16s_caffe_mode():
    pixel = np.array([[[[10.0, 100.0, 200.0]]]], dtype="float32")
    np.testing.assert_allclose(pretrained.preprocess_input(pixel.copy())[0, 0, 0], [96.061, -16.779, -113.68],
                               atol=1e-3)


def test_random_bases_give_every_image_features_of_its_own():
    base = pretrained.random_vgg_shaped_base((48, 48, 3), (4, 4, 8, 8, 8), np.random.default_rng(0))
    images = np.random.default_rng(1).uniform(0, 255, (6, 48, 48, 3)).astype("float32")
    features = base.predict(pretrained.preprocess_input(images.copy()), verbose=0).reshape(6, -1)
    assert (features > 0).mean() > 0.5  # positive biases: most units are alive
    assert min(np.abs(features[i] - features[j]).max() for i in range(6) for j in range(i)) > 0
