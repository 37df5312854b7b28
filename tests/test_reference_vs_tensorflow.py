"""The instructor's reference (the source notebook) honours the contract: it equals
TensorFlow and Keras, including the cases students get wrong."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from autograder.grading import load_reference  # noqa: E402

ref = load_reference("01_convolution_by_hand")
rng = np.random.default_rng(7)

CONV_CASES = [  # (x shape, kernel (kh, kw, c_out), strides, padding)
    ((2, 8, 8, 3), (3, 3, 4), 2, "same"),
    ((1, 7, 9, 2), (4, 4, 3), 2, "same"),
    ((2, 9, 11, 2), (2, 3, 5), (2, 3), "valid"),
    ((1, 6, 8, 3), (5, 2, 2), (1, 2), "same"),
    ((3, 5, 6, 1), (2, 2, 1), 1, "valid"),
    ((1, 10, 10, 6), (3, 3, 2), 3, "valid"),
    ((2, 6, 6, 4), (1, 1, 3), 1, "same"),
]


@pytest.mark.parametrize("function", ["conv2d", "conv2d_fast"])
@pytest.mark.parametrize("shape,kernel_shape,strides,padding", CONV_CASES)
def test_convolution_equals_tf_nn_conv2d(function, shape, kernel_shape, strides, padding):
    x = rng.normal(size=shape)
    kh, kw, c_out = kernel_shape
    kernel = rng.normal(size=(kh, kw, shape[-1], c_out))
    bias = rng.normal(size=c_out)
    # float64 in TensorFlow: its float32 oneDNN path is wrong for some degenerate shapes.
    expected = tf.nn.conv2d(x, kernel, strides=strides, padding=padding.upper()).numpy() + bias
    got = getattr(ref, function)(x, kernel, bias=bias, strides=strides, padding=padding)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


POOL_CASES = [  # (x shape, pool_size, strides, padding)
    ((2, 5, 5, 2), 2, None, "same"),
    ((1, 8, 8, 3), 3, 2, "same"),
    ((1, 9, 7, 2), 3, None, "valid"),
    ((2, 6, 9, 2), (2, 3), (1, 2), "valid"),
    ((1, 7, 5, 4), (3, 2), None, "same"),
]


@pytest.mark.parametrize("shape,pool_size,strides,padding", POOL_CASES)
def test_pooling_equals_keras_layers(shape, pool_size, strides, padding):
    x = (rng.normal(size=shape) - 3.0).astype("float32")  # negative: padding must never win a max
    for function, layer in (("max_pool2d", keras.layers.MaxPooling2D), ("avg_pool2d", keras.layers.AveragePooling2D)):
        expected = np.asarray(layer(pool_size=pool_size, strides=strides, padding=padding)(x))
        got = getattr(ref, function)(x, pool_size=pool_size, strides=strides, padding=padding)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=function)


def test_flatten_and_relu_equal_keras():
    x = rng.normal(size=(2, 3, 4, 5)).astype("float32")
    np.testing.assert_array_equal(ref.flatten(x), np.asarray(keras.layers.Flatten()(x)))
    np.testing.assert_array_equal(ref.relu(x), np.asarray(keras.layers.ReLU()(x)))


def test_multiply_adds_matches_the_lecture_and_the_output_shape():
    assert ref.conv2d_multiply_adds((60000, 28, 28, 1), 3, 64, padding="same") == 27_095_040_000
    for shape, kernel_shape, strides, padding in CONV_CASES:
        kh, kw, c_out = kernel_shape
        out = ref.conv2d(np.zeros(shape), np.zeros((kh, kw, shape[-1], c_out)), strides=strides, padding=padding)
        assert ref.conv2d_multiply_adds(shape, (kh, kw), c_out, strides=strides, padding=padding) == \
            out.size * kh * kw * shape[-1]


def test_reference_leaves_inputs_unchanged():
    x = rng.normal(size=(1, 6, 6, 2))
    kernel = rng.normal(size=(3, 3, 2, 2))
    x.flags.writeable = False
    kernel.flags.writeable = False
    for call in (lambda: ref.conv2d(x, kernel, padding="same"), lambda: ref.conv2d_fast(x, kernel, strides=2),
                 lambda: ref.max_pool2d(x, padding="same"), lambda: ref.avg_pool2d(x), lambda: ref.relu(x),
                 lambda: ref.flatten(x), lambda: ref.correlate2d(x[0, :, :, 0], kernel[:, :, 0, 0])):
        call()
