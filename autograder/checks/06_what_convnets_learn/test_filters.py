"""Hidden checks for filter_loss, gradient_ascent_step, generate_filter_pattern and deprocess_image.

The three gradient functions run in the sandbox on a feature extractor with hand-set kernels (one
3x3 "same" convolution with four ReLU filters: red in the centre, horizontal edges in green, vertical
edges in blue, brightness), built here and sent as a .keras file; their values come back as plain
arrays and are compared here with the reference's on the same model and image. With "same" padding
the border pixels see zeros, so leaving them out changes the loss; the image has three channels, so
normalising each pixel's gradient (keras.ops.normalize's last axis) differs from normalising the whole
tensor (tf.math.l2_normalize). The images' values are drawn per submission, their shapes fixed.
"""

import numpy as np
import pytest

from autograder.harness import expect, expect_array, expect_exact, hidden_rng, process_cache
from autograder.sandbox.inspectors import keras_argument

LOSS = pytest.mark.target("filter_loss")
STEP = pytest.mark.target("gradient_ascent_step")
PATTERN = pytest.mark.target("generate_filter_pattern")
DEPROCESS = pytest.mark.target("deprocess_image")
RTOL, ATOL = 1e-4, 1e-5  # float32 convolutions and gradients, TensorFlow on the CPU on both sides
_MODELS = process_cache("06_what_convnets_learn/feature_extractor")


def feature_extractor():
    """Input (12, 12, 3) -> Conv2D(4, 3x3, same, ReLU) "conv", hand-set kernels and biases."""
    import keras
    kernel = np.zeros((3, 3, 3, 4), np.float32)
    kernel[1, 1, 0, 0] = 1.0
    kernel[:, :, 1, 0] = -0.25  # filter 0: red, less the green around it
    kernel[0, :, 1, 1], kernel[2, :, 1, 1] = 1.0, -1.0  # filter 1: horizontal edges in green
    kernel[:, 0, 2, 2], kernel[:, 2, 2, 2] = 1.0, -1.0  # filter 2: vertical edges in blue
    kernel[:, :, :, 3] = 0.15
    kernel[1, 1, 2, 3] = -1.0  # filter 3: brightness, less blue in the centre
    inputs = keras.Input(shape=(12, 12, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")
    model = keras.Model(inputs, conv(inputs), name="feature_extractor")
    conv.set_weights([kernel, np.array([0.05, 0.1, 0.1, 0.02], np.float32)])
    return model


def _model():
    if "extractor" not in _MODELS:
        model = feature_extractor()
        _MODELS["extractor"] = (model, keras_argument(model))
    return _MODELS["extractor"]


def _image(label):
    rng = hidden_rng(label)
    return rng.uniform(0.0, 1.0, (1, 12, 12, 3)).astype(np.float32)


@LOSS
@pytest.mark.parametrize("filter_index", [0, 1, 2])
def test_filter_loss(student, reference, filter_index):
    model, argument = _model()
    image = _image(f"filter loss {filter_index}")
    expected = float(np.asarray(reference.filter_loss(model, image, filter_index)))
    got = student.call("filter_loss", argument, image, filter_index, then="as_array")
    expect(np.size(got) == 1,
           f"filter_loss(extractor 12x12x4, image (1, 12, 12, 3), filter {filter_index}) returned {np.size(got)} values; "
           "expected one number (a scalar tensor: the mean over the batch, the inner pixels and nothing else).",
           "filter_loss returns one number")
    expect_array(f"filter_loss(extractor 12x12x4, image (1, 12, 12, 3), filter {filter_index}): the mean activation "
                 "without 2 border pixels", np.reshape(got, ()), expected, rtol=RTOL, atol=ATOL)


@STEP
@pytest.mark.parametrize("filter_index,learning_rate", [(1, 0.5), (3, 2.0)])
def test_gradient_ascent_step(student, reference, filter_index, learning_rate):
    model, argument = _model()
    image = _image(f"ascent step {filter_index}")
    expected = np.asarray(reference.gradient_ascent_step(model, image, filter_index, learning_rate))
    got = student.call("gradient_ascent_step", argument, image, filter_index, learning_rate, then="as_array")
    label = (f"gradient_ascent_step(extractor 12x12x4, image (1, 12, 12, 3), filter {filter_index}, "
             f"learning_rate {learning_rate})")
    expect_exact(f"{label}: shape", tuple(np.shape(got)), expected.shape)
    expect_array(f"{label}: the new image", got, expected, rtol=RTOL, atol=ATOL)


@STEP
def test_the_step_has_the_length_of_the_learning_rate(student):
    _, argument = _model()
    image = _image("ascent step length")
    # filter 3 (brightness) is active everywhere on any image, so its gradient is never zero
    got = np.asarray(student.call("gradient_ascent_step", argument, image, 3, 3.0, then="as_array"))
    length = float(np.sqrt(np.sum((got - image) ** 2)))
    expect(abs(length - 3.0) < 1e-3,
           f"gradient_ascent_step(..., learning_rate=3.0) moved the image by {length:.4g} (the L2 norm of the whole "
           "change); a gradient normalised over the whole tensor moves it by exactly the learning rate.",
           "the step's length is the learning rate (gradient L2-normalised over the whole tensor)")


@PATTERN
@pytest.mark.parametrize("filter_index,iterations,learning_rate", [(2, 4, 1.5), (0, 3, 0.7)])
def test_generate_filter_pattern(student, reference, filter_index, iterations, learning_rate):
    model, argument = _model()
    start = _image(f"pattern start {filter_index}") * 0.2 - 0.1
    expected = np.asarray(reference.generate_filter_pattern(model, filter_index, start, iterations=iterations,
                                                            learning_rate=learning_rate))
    got = student.call("generate_filter_pattern", argument, filter_index, start, iterations=iterations,
                       learning_rate=learning_rate, then="as_array")
    label = (f"generate_filter_pattern(extractor 12x12x4, filter {filter_index}, start image (1, 12, 12, 3), "
             f"iterations={iterations}, learning_rate={learning_rate})")
    expect_exact(f"{label}: shape (H, W, 3), without the batch axis", tuple(np.shape(got)), expected.shape)
    expect_array(f"{label}: the final image", got, expected, rtol=RTOL, atol=ATOL)


def _float_image(label):
    rng = hidden_rng(label)
    centre, spread = rng.uniform(-3.0, 3.0), rng.uniform(0.5, 4.0)
    image = rng.normal(centre, spread, (10, 14, 3))
    image[0, 0, 0], image[-1, -1, -1] = centre + 5 * spread, centre - 5 * spread  # clipped at both ends
    return image


@DEPROCESS
def test_deprocess_image(student, reference):
    image = _float_image("deprocess")
    expected = reference.deprocess_image(image.copy())
    got = student.call("deprocess_image", image)
    expect_exact("deprocess_image(float image 10x14x3): shape and dtype", (tuple(np.shape(got)), str(np.asarray(got).dtype)),
                 (expected.shape, "uint8"))
    expect_array("deprocess_image(float image 10x14x3 with values 5 standard deviations from its mean): pixel values",
                 np.asarray(got, dtype=np.int64), expected.astype(np.int64), rtol=0, atol=1)


@DEPROCESS
def test_deprocess_image_float32_with_a_large_offset(student, reference):
    image = (_float_image("deprocess offset") * 10 + 1000).astype(np.float32)
    expected = reference.deprocess_image(image.copy())
    got = student.call("deprocess_image", image)
    expect_array("deprocess_image(float32 image 10x14x3 around 1000): pixel values",
                 np.asarray(got, dtype=np.int64), expected.astype(np.int64), rtol=0, atol=1)
