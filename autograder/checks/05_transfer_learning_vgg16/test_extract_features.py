"""Hidden checks for extract_features.

The student's function gets a base of the grader's (VGG16's layer names and blocks with 4 to 8
filters, 48x48 inputs, weights drawn per submission with positive biases so that every image has
features of its own) and a tf.data dataset of grader images, in batches of 6, that reshuffles at every
pass, as a training set from image_dataset_from_directory does. The labels are 0..17, so that each
label names its image. The grader computes every image's features itself, here, with
conv_base.predict(preprocess_input(image)); the rows the student returns are matched to the images
(the dataset's order is its own) and compared. Only arrays cross the boundary.
"""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, expect_exact, hidden_rng
from autograder.sandbox.inspectors import dataset_argument, keras_argument

IMAGES, SIZE, BATCH = 18, 48, 6  # whole batches: one traced shape
FILTERS = (4, 4, 8, 8, 8)
TARGET = pytest.mark.target("extract_features")


@pytest.fixture(scope="module")
def case():
    from keras.applications.vgg16 import preprocess_input

    from cnn_course.pretrained import random_vgg_shaped_base
    rng = hidden_rng("05 extract_features")
    base = random_vgg_shaped_base((SIZE, SIZE, 3), FILTERS, rng)
    images = rng.uniform(0, 255, (IMAGES, SIZE, SIZE, 3)).astype("float32")
    expected = base.predict(preprocess_input(images.copy()), verbose=0)
    return {"base": base, "images": images, "labels": np.arange(IMAGES), "expected": expected,
            "seed": int(rng.integers(2**31))}


@pytest.fixture(scope="module")
def returned(student, case):
    value = student.call("extract_features", keras_argument(case["base"]),
                         dataset_argument(case["images"], case["labels"], BATCH, case["seed"]))
    return value


def _arrays(returned):
    ok = isinstance(returned, (tuple, list)) and len(returned) == 2 and all(isinstance(v, np.ndarray) for v in returned)
    expect(ok, f"extract_features returned {type(returned).__name__}"
               + (f" of {len(returned)} items" if isinstance(returned, (tuple, list)) else "")
               + "; expected a pair (features, labels) of NumPy arrays.", "")
    return returned


def _rows(features, expected):
    """For each returned row, the image whose features are closest to it."""
    flat = expected.reshape(len(expected), -1)
    return [int(np.argmin(np.abs(flat - row.reshape(1, -1)).max(axis=1))) for row in features]


@TARGET
def test_shapes(returned, case):
    features, labels = _arrays(returned)
    expect_exact(f"extract_features on {IMAGES} images in batches of {BATCH}: shapes of features and labels "
                 f"(base output {case['expected'].shape[1:]})",
                 [tuple(features.shape), tuple(labels.shape)], [tuple(case["expected"].shape), (IMAGES,)])


@TARGET
def test_every_image_once(returned, case):
    features, _ = _arrays(returned)
    expect(features.shape[1:] == case["expected"].shape[1:],
           "the features do not have the base's output shape (see the check of the shapes).", "")
    rows = _rows(features, case["expected"])
    missing = sorted(set(range(IMAGES)) - set(rows))
    expect(sorted(rows) == list(range(IMAGES)),
           f"no row of features matches {len(missing)} of the {IMAGES} images (and others match several rows): the "
           "features are not conv_base.predict(preprocess_input(images)) for each batch. Was each batch prepared "
           "with preprocess_input, once, and nothing else (no division by 255)? Were all batches kept?",
           f"every one of the {IMAGES} images has exactly one row of features")


@TARGET
def test_features_are_the_base_on_preprocessed_images(returned, case):
    features, _ = _arrays(returned)
    expected = case["expected"]
    expect(features.shape[1:] == expected.shape[1:], "see the check of the shapes.", "")
    rows = _rows(features, expected)
    scale = float(np.max(np.abs(expected)))
    expect_array(f"features[i] = conv_base.predict(preprocess_input(image)) for the image of row i, on {IMAGES} grader "
                 "images with values 0..255", features, expected[rows], rtol=1e-4, atol=1e-4 * scale)


@TARGET
def test_labels_belong_to_their_features(returned, case):
    features, labels = _arrays(returned)
    expect(features.shape[1:] == case["expected"].shape[1:] and len(labels) == len(features),
           "see the check of the shapes.", "")
    rows = _rows(features, case["expected"])
    wrong = int(np.sum(np.asarray(labels).reshape(-1) != case["labels"][rows]))
    expect(wrong == 0,
           f"{wrong} of the {IMAGES} labels are not the labels of the images whose features share their row. The "
           "dataset reshuffles at every pass: take the labels from the same batches as the features, in one pass "
           "over the dataset.",
           f"labels[i] is the label of the image whose features are features[i] (labels 0..{IMAGES - 1}, one per image)")
