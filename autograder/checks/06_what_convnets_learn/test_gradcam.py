"""Hidden checks for make_gradcam_heatmap and superimpose_heatmap.

make_gradcam_heatmap runs in the sandbox on a small classifier with hand-set weights, built here and
sent as a .keras file (``keras_argument``); its heatmaps come back as plain arrays and are compared
here with the reference's, computed in this process on the same model and images. The fixture is
designed so that each mistake of the catalogue changes the answer (tests/mutants/what_convnets_learn.py
proves it): a Flatten head, so that the gradient varies across the image and pooling it over space
matters; negative evidence (class 0 is pushed down by green), so that ReLU matters; a softmax over three
classes, so that its gradient is not the logit's; two images whose top classes differ (0 and 2), so that
pooling over the batch, ignoring pred_index or defaulting to class 0 all show; a conv output (6x6)
smaller than the image (8x8). The images' values are drawn per submission; their layout is fixed.

superimpose_heatmap runs on grader-drawn images and heatmaps of different heights and widths, so a
transposed resize shows; the result is compared as uint8 arrays, both made with OpenCV's COLORMAP_JET
(never across colour maps: matplotlib's jet differs from OpenCV's by up to 33 grey levels).
"""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, expect_exact, hidden_rng, process_cache
from autograder.sandbox.inspectors import keras_argument

GRADCAM = pytest.mark.target("make_gradcam_heatmap")
SUPERIMPOSE = pytest.mark.target("superimpose_heatmap")
CLASSIFIER_LAYERS = ["flatten", "predictions"]
HEATMAP_RTOL, HEATMAP_ATOL = 1e-4, 1e-4  # float32 gradients, summed in another order by another implementation
# Grey levels. A blend written by hand rounds where cv2.addWeighted rounds otherwise (1 level), and a
# heatmap level that differs by one (np.uint8 truncating 255 * x computed in float32 or float64) becomes
# up to 4 levels of a channel on JET's steepest segments, 1.6 to 2.8 after a blend at alpha 0.4 to 0.7.
# Every mistake of the catalogue moves hundreds of values by tens of levels.
OVERLAY_ATOL = 3
_MODELS = process_cache("06_what_convnets_learn/gradcam_models")


def gradcam_classifier():
    """Input (8, 8, 3) -> Conv2D(4, 3x3 valid, ReLU) "last_conv" (6x6x4) -> Flatten "flatten"
    -> Dense(3, softmax) "predictions", hand-set weights."""
    import keras
    kernel = np.zeros((3, 3, 3, 4), np.float32)
    kernel[1, 1, 0, 0] = 1.0  # channel 0: red
    kernel[1, 1, 1, 1] = 1.0  # channel 1: green
    kernel[1, 1, 2, 2] = 1.0  # channel 2: blue
    kernel[1, 1, 0, 3], kernel[1, 1, 1, 3] = 1.0, -1.0  # channel 3: red minus green
    weights = np.zeros((6, 6, 4, 3), np.float32)
    left = np.arange(6) < 3
    top = (np.arange(6)[:, None] < 3).astype(np.float32)
    weights[:, left, 0, 0] = 2.0          # class 0: red on the left,
    weights[:, :, 1, 0] -= 1.0            # pushed down by green anywhere,
    weights[:, :, 3, 0] += 0.5 * top      # and red-not-green at the top
    weights[:, ~left, 1, 1] = 2.0         # class 1: green on the right,
    weights[:, :, 0, 1] -= 1.0            # pushed down by red
    weights[:, :, 2, 2] = 1.5 * top + 0.3  # class 2: blue, above all at the top,
    weights[:, :, 0, 2] -= 0.5            # pushed down by red
    inputs = keras.Input(shape=(8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="last_conv")
    flatten = keras.layers.Flatten(name="flatten")
    dense = keras.layers.Dense(3, activation="softmax", name="predictions")
    model = keras.Model(inputs, dense(flatten(conv(inputs))), name="gradcam_classifier")
    conv.set_weights([kernel, np.zeros(4, np.float32)])
    dense.set_weights([(0.25 * weights).reshape(144, 3), np.zeros(3, np.float32)])
    return model


def gradcam_images(rng):
    """Two images: A red on the left and green on the right (top class 0), B blue at the top and some
    red on the right (top class 2)."""
    a = np.zeros((8, 8, 3), np.float32)
    a[:, :4, 0] = rng.uniform(0.7, 1.0, (8, 4))
    a[:, 4:, 1] = rng.uniform(0.7, 1.0, (8, 4))
    a[:, :, 2] = rng.uniform(0.0, 0.2, (8, 8))
    a[:, :4, 1] = rng.uniform(0.0, 0.2, (8, 4))
    b = rng.uniform(0.0, 0.3, (8, 8, 3)).astype(np.float32)
    b[:4, :, 2] = rng.uniform(0.8, 1.0, (4, 8))
    b[:, 4:, 0] += rng.uniform(0.3, 0.5, (8, 4))
    return np.stack([a, b]).astype(np.float32)


def _model():
    if "classifier" not in _MODELS:
        model = gradcam_classifier()
        _MODELS["classifier"] = (model, keras_argument(model))
    return _MODELS["classifier"]


def _cases():
    rng = hidden_rng("gradcam images")
    return gradcam_images(rng)


def _compare(student, reference, label, images, **kwargs):
    model, argument = _model()
    expected = np.asarray(reference.make_gradcam_heatmap(images, model, "last_conv", CLASSIFIER_LAYERS, **kwargs))
    got = student.call("make_gradcam_heatmap", images, argument, "last_conv", CLASSIFIER_LAYERS, then="as_array",
                       **kwargs)
    expect_exact(f"{label}: shape of the heatmaps (N, h, w) of the 6x6 last conv layer", tuple(np.shape(got)),
                 expected.shape)
    expect_array(label, got, expected, rtol=HEATMAP_RTOL, atol=HEATMAP_ATOL)


@GRADCAM
def test_each_images_top_class_by_default(student, reference):
    _compare(student, reference, "make_gradcam_heatmap(2 images whose top classes are 0 and 2, pred_index=None) on "
             "a 3-class softmax classifier (conv 6x6x4, Flatten, Dense)", _cases())


@GRADCAM
def test_the_class_asked_for(student, reference):
    _compare(student, reference, "make_gradcam_heatmap(the same 2 images, pred_index=1): class 1 for both",
             _cases(), pred_index=1)


@GRADCAM
def test_one_image_alone(student, reference):
    _compare(student, reference, "make_gradcam_heatmap(a batch of 1 image, pred_index=2)", _cases()[1:], pred_index=2)


@GRADCAM
def test_values_are_between_0_and_1_with_a_peak_of_1(student):
    _, argument = _model()
    got = np.asarray(student.call("make_gradcam_heatmap", _cases(), argument, "last_conv", CLASSIFIER_LAYERS,
                                  then="as_array"))
    expect(got.ndim == 3 and float(got.min()) >= 0.0 and np.allclose(got.max(axis=(1, 2)), 1.0, atol=1e-5),
           "make_gradcam_heatmap: each heatmap should lie in [0, 1] with its maximum at 1 (ReLU, then divided by "
           f"its maximum); got values from {float(got.min()):.4g} to {float(got.max()):.4g}.",
           "each heatmap lies in [0, 1] and peaks at 1")


def _overlay_cases():
    rng = hidden_rng("superimpose cases")
    image = rng.integers(0, 256, (30, 40, 3)).astype(np.uint8)  # H 30, W 40
    heatmap = rng.uniform(0.0, 1.0, (5, 6)).astype(np.float32)
    heatmap[rng.integers(5), rng.integers(6)] = 1.0
    return image, heatmap


@SUPERIMPOSE
def test_overlay_at_alpha_0_4(student, reference):
    image, heatmap = _overlay_cases()
    expected = reference.superimpose_heatmap(image, heatmap)
    got = student.call("superimpose_heatmap", image, heatmap)
    expect_exact("superimpose_heatmap(image 30x40 (H x W), heatmap 5x6): shape and dtype",
                 (tuple(np.shape(got)), str(np.asarray(got).dtype)), (expected.shape, "uint8"))
    expect_array("superimpose_heatmap(image 30x40, heatmap 5x6, alpha=0.4): RGB values (OpenCV COLORMAP_JET)",
                 np.asarray(got, dtype=np.int64), expected.astype(np.int64), rtol=0, atol=OVERLAY_ATOL)


@SUPERIMPOSE
def test_overlay_at_another_alpha(student, reference):
    image, heatmap = _overlay_cases()
    image, heatmap = image[:24, :36], heatmap[::-1, ::-1].copy()
    expected = reference.superimpose_heatmap(image, heatmap, alpha=0.7)
    got = student.call("superimpose_heatmap", image, heatmap, alpha=0.7)
    expect_array("superimpose_heatmap(image 24x36, heatmap 5x6, alpha=0.7): RGB values", np.asarray(got, dtype=np.int64),
                 expected.astype(np.int64), rtol=0, atol=OVERLAY_ATOL)
