"""Hidden checks for make_augmentation: what the stage is made of, and what it does.

The stage is saved as a ``.keras`` file in the student's worker, then loaded (safe mode) in a
sandbox worker that never ran the student's code, where it is described (``describe_layer_stack``:
the layers it runs, in order, nested models opened up) and run on the grader's images
(``apply_layer``) in inference mode and in training mode. Only descriptions and images come back.
"""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, expect_exact, hidden_rng

TARGET = pytest.mark.target("make_augmentation")
EXPECTED_TYPES = ["RandomFlip", "RandomRotation", "RandomZoom"]


def _symmetric(value):
    """A Keras factor: a number f means (-f, f); a pair is kept as it is."""
    if isinstance(value, (int, float)):
        return (-float(value), float(value))
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        return (float(value[0]), float(value[1]))
    return value


def _images(n=6):
    """Smooth, asymmetric test images (0..255): blobs and a gradient, so every flip, turn or zoom shows."""
    rng = hidden_rng("augmentation images")
    rows, cols = np.mgrid[0:180, 0:180].astype(np.float32)
    images = np.empty((n, 180, 180, 3), np.float32)
    for i in range(n):
        picture = 40 + 0.5 * cols[..., None] * np.array([1.0, 0.4, 0.2], np.float32)
        for _ in range(3):
            r, c, size = rng.uniform(20, 160), rng.uniform(20, 160), rng.uniform(8, 25)
            blob = np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * size ** 2))
            picture = picture + blob[..., None] * rng.uniform(40, 120, 3).astype(np.float32)
        images[i] = np.clip(picture, 0, 255)
    return images


@pytest.fixture(scope="module")
def layers_run(student):
    return student.describe("make_augmentation", inspector="describe_layer_stack")


@TARGET
def test_three_layers_in_the_lectures_order(layers_run):
    types = [layer["type"] for layer in layers_run]
    expect(types == EXPECTED_TYPES,
           f"make_augmentation() runs the layers {types}; expected exactly {EXPECTED_TYPES}, in this order "
           "(RandomFlip, then RandomRotation, then RandomZoom, nothing else).",
           f"the stage runs {', '.join(EXPECTED_TYPES)}, in this order")


def _layer(layers_run, kind):
    found = [layer for layer in layers_run if layer["type"] == kind]
    expect(len(found) == 1, f"make_augmentation() should hold exactly one {kind} layer; it holds {len(found)}.", "")
    return found[0]["config"]


@TARGET
def test_flip_is_horizontal(layers_run):
    mode = _layer(layers_run, "RandomFlip").get("mode")
    expect(mode == "horizontal",
           f"RandomFlip mode is {mode!r}; expected 'horizontal' (mirror left to right only: an upside-down "
           "animal is not a believable photograph).", "RandomFlip mirrors left to right only")


@TARGET
def test_rotation_is_a_tenth_of_a_turn(layers_run):
    factor = _symmetric(_layer(layers_run, "RandomRotation").get("factor"))
    expect(isinstance(factor, tuple) and np.allclose(factor, (-0.1, 0.1), atol=1e-6),
           f"RandomRotation factor is {factor!r} (as a range); expected 0.1, i.e. (-0.1, 0.1): the factor is a "
           "fraction of a full turn (0.1 = 36 degrees either way), not degrees or radians.",
           "RandomRotation turns up to 10% of a full turn either way")


@TARGET
def test_zoom_is_twenty_percent_keeping_the_aspect_ratio(layers_run):
    config = _layer(layers_run, "RandomZoom")
    height = _symmetric(config.get("height_factor"))
    width = config.get("width_factor")
    expect(isinstance(height, tuple) and np.allclose(height, (-0.2, 0.2), atol=1e-6) and width is None,
           f"RandomZoom has height_factor {config.get('height_factor')!r} and width_factor {width!r}; expected "
           "RandomZoom(0.2): up to 20% in or out, and width_factor left at None, so that the width zooms like "
           "the height.", "RandomZoom zooms up to 20%, keeping the aspect ratio")


@TARGET
def test_rotation_and_zoom_fill_by_reflecting(layers_run):
    modes = {kind: _layer(layers_run, kind).get("fill_mode") for kind in ("RandomRotation", "RandomZoom")}
    expect(all(mode == "reflect" for mode in modes.values()),
           f"The fill modes are {', '.join(f'{kind} {mode!r}' for kind, mode in modes.items())}; expected 'reflect', "
           "the default, for both: the pixels a turn or a zoom brings in from outside the image mirror the image at "
           "its border.", "RandomRotation and RandomZoom fill by reflecting the image at its border")


@TARGET
def test_inference_mode_changes_nothing(student):
    images = _images()
    got = student.describe("make_augmentation", inspector="apply_layer", inspector_args=(images, False))
    expect_array("make_augmentation()(images, training=False) on 6 images of 180x180x3 (inference: nothing may "
                 "change)", got, images, rtol=0, atol=1e-3)


@TARGET
def test_training_mode_changes_the_images_and_keeps_their_shape(student):
    images = _images()
    got = student.describe("make_augmentation", inspector="apply_layer", inspector_args=(images, True, 2024))
    shape = tuple(np.shape(got))
    expect_exact("make_augmentation()(images, training=True): output shape for 6 images of 180x180x3", shape,
                 images.shape)
    changed = int(np.sum(np.abs(np.asarray(got) - images).max(axis=(1, 2, 3)) > 1.0))
    expect(changed >= 5,
           f"make_augmentation()(images, training=True) changed only {changed} of 6 images; with a random "
           "rotation of up to 36 degrees and a random zoom nearly every image should change.",
           f"training=True changed {changed} of 6 images")
    expect(float(np.min(got)) >= -1e-3 and float(np.max(got)) <= 255.001,
           "make_augmentation()(images, training=True) returned values outside the images' range 0..255: the "
           "stage should only move pixels around, not rescale them.", "values stay within 0..255")
