"""Assignment 06's data and helpers: the manifest entries for the full profile (VGG16 with its top,
the ImageNet class index, the elephant photograph) and cnn_course.visualize."""

import json
from pathlib import Path

import pytest

from cnn_course import data
from cnn_course.data import manifest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def shipped(monkeypatch):
    monkeypatch.setattr(manifest, "MANIFEST_PATH", REPO / "datasets" / "manifest.json")


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
    original = manifest._manifest

    def closed_port():
        return {name: (info.__class__(**{**info.__dict__, "url": "http://127.0.0.1:9/" + info.filename}))
                for name, info in original().items()}
    monkeypatch.setattr(manifest, "_manifest", closed_port)  # where dataset_info reads it
    with pytest.raises(data.DataUnavailable) as raised:
        visualize.imagenet_class_index()
    message = str(raised.value)
    assert "imagenet_class_index" in message and "Pre-stage the file" in message
    assert "COURSE_DATA_PROFILE=embedded" in message
    assert "http://127.0.0.1:9/imagenet_class_index.json" in message  # the patched manifest was the one used


# --------------------------------------------------------------------------- the pointing game's lesson
#
# Measured on the embedded profile (stand-ins version 4, 40 test images per class, the reference
# make_gradcam_heatmap): the stand-in classifier (05's pretrained stand-in base + a Dense head, seed
# 1337) is right on 0.85 of the images and points at the head for 0.89 (cats 0.88, dogs 0.90); the same
# network with random weights (keras.models.clone_model) for 0.10 to 0.56 depending on the draw (seeds
# 0-4: 0.10, 0.51, 0.56, 0.36, 0.45; the notebook's seed 1337: 0.44); the head regions cover 0.27 of
# the image. (Version 2, with larger heads and odds of 0.95: 0.99 right, 0.95 pointing, 0.32 covered.)
# Assignment 04's from-scratch network does NOT show the lesson (0.36 to 0.48 against 0.30 to 0.66 for
# random copies): its "dog" evidence is the absence of cat features, so its dog heatmaps point anywhere.


def _embedded(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_PROFILE", "embedded")
    monkeypatch.setenv("COURSE_DATA_DIR", str(REPO / "datasets" / "cache"))


def test_head_masks_and_pointing_game_on_hand_made_cases():
    import numpy as np

    from cnn_course import visualize
    images = visualize.StandinImages(np.zeros((2, 20, 20, 3), np.float32), np.array([0, 1]), ["a", "b"],
                                     np.array([[5.0, 5.0], [15.0, 10.0]]), np.array([[4.0, 4.0], [2.0, 6.0]]))
    masks = visualize.head_masks(images)
    assert masks[0, 5, 5] and not masks[0, 5, 10] and masks[1, 14, 15] and not masks[1, 10, 12]
    heatmaps = np.zeros((2, 4, 4), np.float32)
    heatmaps[0, 1, 1] = 1.0   # cell (1, 1) of 4x4 over 20x20: around pixel (7.5, 7.5), inside the first head
    heatmaps[1, 0, 0] = 1.0   # the top left corner: outside the second head
    score, hits = visualize.pointing_game(heatmaps, masks)
    assert (score, hits.tolist()) == (0.5, [True, False])
    assert visualize.pointing_game(np.zeros((2, 4, 4)), masks)[0] == 0.0  # an empty heatmap points nowhere


def test_as_two_class_keeps_the_predictions():
    import keras
    import numpy as np

    from cnn_course import visualize
    keras.utils.set_random_seed(3)
    inputs = keras.Input(shape=(6,))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="out")(keras.layers.Dense(4)(inputs)))
    x = np.random.default_rng(0).normal(size=(5, 6)).astype("float32")
    two = visualize.as_two_class(model).predict(x, verbose=0)
    p = model.predict(x, verbose=0)[:, 0]
    np.testing.assert_allclose(two[:, 1], p, atol=1e-6)
    np.testing.assert_allclose(two[:, 0], 1 - p, atol=1e-6)


def test_the_trained_network_points_at_the_head_and_a_random_one_does_not(monkeypatch):
    _embedded(monkeypatch)
    import keras
    import numpy as np

    from autograder.grading import load_reference
    from cnn_course import visualize
    reference = load_reference("06_what_convnets_learn")
    standins = visualize.standin_test_images(per_class=40)
    masks = visualize.head_masks(standins)
    trained = visualize.standin_classifier(seed=1337)
    after = ["block5_pool", "flatten", "predictions"]

    def score(model):
        heatmaps = reference.make_gradcam_heatmap(standins.images, visualize.as_two_class(model), "block5_conv3", after)
        return visualize.pointing_game(heatmaps, masks)[0]

    accuracy = float(np.mean((trained.predict(standins.images, verbose=0)[:, 0] > 0.5) == standins.labels))
    assert accuracy >= 0.8, accuracy
    trained_score = score(trained)
    random_scores = []
    for seed in (0, 1, 2):
        keras.utils.set_random_seed(seed)
        random_scores.append(score(keras.models.clone_model(trained)))
    assert trained_score >= 0.85, trained_score
    assert max(random_scores) <= trained_score - 0.25, (trained_score, random_scores)
