"""Assignment 02: the instructor's reference (the source notebook) agrees with Keras on output
shapes and parameter counts, far beyond what the hidden checks ask, and on every lecture number
the notebook quotes."""

import importlib.util
import itertools
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from autograder.assignments import load_assignment  # noqa: E402
from autograder.grading import load_reference  # noqa: E402

ASSIGNMENT = "02_shapes_params_cost"
ref = load_reference(ASSIGNMENT)


def _hidden_check_module(name):
    path = load_assignment(ASSIGNMENT).checks_dir / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"reference_test_{name}", path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings():  # its `target` marker belongs to the grader's pytest.ini
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        spec.loader.exec_module(module)
    return module


stacks = _hidden_check_module("test_summaries")


def _keras_length(layer, n):
    """Keras's output length along one axis, or None where Keras refuses the layer."""
    try:
        return layer.compute_output_shape((None, n, 1))[1]
    except ValueError:
        return None


def _ours(function, *args):
    try:
        return function(*args)
    except ValueError:
        return None


def test_conv_output_length_equals_conv1d_everywhere_keras_accepts():
    compared = 0
    for n, k, s, d in itertools.product(range(1, 26), range(1, 8), range(1, 5), range(1, 5)):
        if s > 1 and d > 1:
            with pytest.raises(ValueError):  # Keras refuses the combination outright
                keras.layers.Conv1D(1, k, strides=s, dilation_rate=d)
            continue
        for padding in ("valid", "same"):
            layer = keras.layers.Conv1D(1, k, strides=s, padding=padding, dilation_rate=d)
            expected = _keras_length(layer, n)
            assert _ours(ref.conv_output_length, n, k, s, padding, d) == expected, (n, k, s, padding, d)
            compared += 1
    assert compared == 2450


def test_conv_output_length_equals_conv2d_on_both_axes():
    rng = np.random.default_rng(11)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        kh, kw = (int(v) for v in rng.integers(1, 7, 2))
        padding = str(rng.choice(["valid", "same"]))
        if rng.random() < 0.5:
            strides, dilation = (1, 1), tuple(int(v) for v in rng.integers(1, 5, 2))
        else:
            strides, dilation = tuple(int(v) for v in rng.integers(1, 5, 2)), (1, 1)
        layer = keras.layers.Conv2D(2, (kh, kw), strides=strides, padding=padding, dilation_rate=dilation)
        try:
            expected = tuple(layer.compute_output_shape((None, h, w, 3))[1:3])
        except ValueError:
            expected = None
        ours = (_ours(ref.conv_output_length, h, kh, strides[0], padding, dilation[0]),
                _ours(ref.conv_output_length, w, kw, strides[1], padding, dilation[1]))
        assert (None if None in ours else ours) == expected, (h, w, kh, kw, strides, dilation, padding)


@pytest.mark.parametrize("pool", [keras.layers.MaxPooling2D, keras.layers.AveragePooling2D])
def test_pool_output_length_equals_keras_pooling(pool):
    for n, p, s in itertools.product(range(1, 30), range(1, 6), (None, 1, 2, 3, 4, 5)):
        for padding in ("valid", "same"):
            layer = pool((p, 1), strides=None if s is None else (s, 1), padding=padding)
            try:
                expected = layer.compute_output_shape((None, n, 1, 1))[1]
            except ValueError:
                expected = None
            assert _ours(ref.pool_output_length, n, p, s, padding) == expected, (pool, n, p, s, padding)


def test_param_counts_equal_count_params():
    rng = np.random.default_rng(12)
    for _ in range(150):
        c_in, filters = (int(v) for v in rng.integers(1, 70, 2))
        kernel = int(rng.integers(1, 6)) if rng.random() < 0.5 else tuple(int(v) for v in rng.integers(1, 6, 2))
        use_bias = bool(rng.random() < 0.7)
        dilation = int(rng.integers(1, 4))
        layer = keras.layers.Conv2D(filters, kernel, use_bias=use_bias, dilation_rate=dilation)
        layer.build((None, 32, 32, c_in))
        assert ref.conv2d_param_count(c_in, filters, kernel, use_bias) == layer.count_params()
        in_features, units = (int(v) for v in rng.integers(1, 3000, 2))
        dense = keras.layers.Dense(units, use_bias=use_bias)
        dense.build((None, in_features))
        assert ref.dense_param_count(in_features, units, use_bias) == dense.count_params()


def test_summarize_stack_equals_keras_on_the_hidden_stacks_and_more():
    """The random stacks the hidden checks draw (per submission: here for one draw) and 120 more."""
    from autograder import harness
    harness.begin_grading(b"test secret", 12345)
    try:
        stacks._THIS_SUBMISSION.clear()
        cases = [stacks.expected_case(("random", i)) for i in range(stacks.RANDOM_STACKS)]
    finally:
        harness.end_grading()
    rng = np.random.default_rng(99)
    cases += [stacks._random_stack(rng) for _ in range(120)]
    for shape, layers, expected in cases:
        assert ref.summarize_stack(shape, layers) == expected, stacks.describe_stack(shape, layers)


@pytest.mark.parametrize("case", list(stacks.LECTURE_CASES) + list(stacks.RULE_CASES))
def test_summarize_stack_equals_keras_on_named_stacks(case):
    shape, layers, expected = stacks.expected_case(case)
    assert ref.summarize_stack(shape, layers) == expected


def test_the_lecture_numbers_the_notebook_quotes():
    def total(case):
        return sum(params for _, params in stacks.expected_case(case)[2])

    assert total("lecture 002's MNIST convnet") == 93_322
    mnist = stacks.expected_case("lecture 002's MNIST convnet")[2]
    assert sum(params for _, params in mnist[:5]) == 55_744
    no_pool = stacks.expected_case("lecture 002's MNIST convnet without max pooling, with Flatten and Dense(512) on top")[2]
    assert no_pool[2][0] == (22, 22, 64) and no_pool[3][0] == (30_976,) and no_pool[4][1] == 15_860_224
    assert total("the dogs-vs-cats convnet at 150x150, with dropout") == 3_453_121
    assert total("lecture 001's dogs-vs-cats convnet at 180x180, with Rescaling") == 991_041
    vgg = stacks.expected_case("VGG16's convolutional base at 150x150 with Flatten, Dense(256), Dense(1)")[2]
    assert vgg[17] == ((4, 4, 512), 0) and sum(params for _, params in vgg[:18]) == 14_714_688
    assert sum(params for _, params in vgg) == 16_812_353
    base_180 = keras.applications.VGG16(weights=None, include_top=False, input_shape=(180, 180, 3))
    assert tuple(base_180.output.shape[1:]) == (5, 5, 512) and base_180.count_params() == 14_714_688
    # lecture 002's multiply-add counts, and the answer to its question (64 input channels)
    assert 60_000 * 512 * 784 == 24_084_480_000
    side = ref.conv_output_length(28, 3, padding="same")
    assert 60_000 * 64 * side * side * 3 * 3 * 1 == 27_095_040_000
    assert 60_000 * 64 * side * side * 3 * 3 * 64 == 1_734_082_560_000


def test_corrected_same_table_equals_keras_and_names_the_lecture_errors():
    shape, layers, expected = stacks.expected_case("lecture 003's MNIST convnet with padding='same'")
    table = ref.corrected_same_table()
    assert [(tuple(s), p) for _, s, p in table["rows"]] == expected
    assert table["total_params"] == sum(p for _, p in expected) == 257_162
    printed = [((28, 28, 32), 320), ((14, 14, 32), 0), ((14, 14, 64), 18_496), ((7, 7, 64), 0),
               ((7, 7, 64), 36_928), ((392,), 0), ((64,), 36_928), ((10,), 650)]  # lecture 003, total 93,322
    wrong = [name for (name, _, _), row, keras_row in zip(table["rows"], printed, expected) if row != keras_row]
    assert table["wrong_rows"] == wrong == ["flatten_1", "dense_1"]
