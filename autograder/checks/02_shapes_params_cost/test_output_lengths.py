"""Hidden checks for conv_output_length and pool_output_length: Keras's output length along one axis."""

import numpy as np
import pytest

from autograder.harness import expect_exact

# name: (input_length, kernel_size, stride, padding, dilation)
CONV_CASES = {
    "MNIST's first layer": (28, 3, 1, "valid", 1),
    "'valid', stride 2, one position left over": (8, 3, 2, "valid", 1),
    "'valid', stride 3, two positions left over": (11, 3, 3, "valid", 1),
    "'valid', stride larger than the kernel": (10, 2, 3, "valid", 1),
    "'valid', kernel as long as the input": (5, 5, 1, "valid", 1),
    "'valid', 1-tap kernel": (13, 1, 1, "valid", 1),
    "'valid', AlexNet's first layer": (227, 11, 4, "valid", 1),
    "'same', stride 1, odd kernel": (28, 3, 1, "same", 1),
    "'same', stride 1, even kernel": (6, 2, 1, "same", 1),
    "'same', stride 1, even kernel of 4": (9, 4, 1, "same", 1),
    "'same', stride 2, odd input": (7, 3, 2, "same", 1),
    "'same', stride 2, even input": (8, 3, 2, "same", 1),
    "'same', stride 3": (10, 3, 3, "same", 1),
    "'same', stride 4, kernel 11": (224, 11, 4, "same", 1),
    "'same', kernel longer than the input": (3, 5, 1, "same", 1),
    "'valid', dilation 2": (10, 3, 1, "valid", 2),
    "'valid', dilation 3, kernel 5": (20, 5, 1, "valid", 3),
    "'valid', dilated kernel exactly as long as the input": (9, 5, 1, "valid", 2),
    "'same', dilation 2": (10, 3, 1, "same", 2),
    "'same', dilation 4, even kernel": (12, 2, 1, "same", 4),
}

# name: (input_length, pool_size, stride (None: the default), padding)
POOL_CASES = {
    "2x2 default stride, even input": (28, 2, None, "valid"),
    "2x2 default stride, odd input (last row dropped)": (27, 2, None, "valid"),
    "pool 3, default stride, leftover": (7, 3, None, "valid"),
    "pool 3, stride 1 (overlapping)": (7, 3, 1, "valid"),
    "pool 2, stride 3 (gaps)": (10, 2, 3, "valid"),
    "pool 3, stride 2": (15, 3, 2, "valid"),
    "VGG16 block2_pool": (75, 2, None, "valid"),
    "window as long as the input": (4, 4, None, "valid"),
    "'same', pool 2, odd input": (7, 2, None, "same"),
    "'same', pool 3, default stride": (10, 3, None, "same"),
    "'same', pool 3, stride 2": (8, 3, 2, "same"),
    "'same', pool 2, stride 1": (9, 2, 1, "same"),
    "'same', window longer than the input": (2, 3, None, "same"),
}


def _conv_label(n, k, s, padding, d):
    return f"conv_output_length({n}, {k}, stride={s}, padding={padding!r}, dilation={d})"


def _pool_label(n, p, s, padding):
    return f"pool_output_length({n}, {p}, stride={s!r}, padding={padding!r})"


def _random_conv_cases(count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        n, k = int(rng.integers(1, 60)), int(rng.integers(1, 8))
        padding = str(rng.choice(["valid", "same"]))
        if rng.random() < 0.4:
            s, d = 1, int(rng.integers(2, 5))
        else:
            s, d = int(rng.integers(1, 6)), 1
        if padding == "valid" and d * (k - 1) + 1 > n:
            continue  # Keras refuses this layer
        cases.append((n, k, s, padding, d))
    return cases


def _random_pool_cases(count, seed):
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        n, p = int(rng.integers(1, 60)), int(rng.integers(1, 6))
        s = None if rng.random() < 0.4 else int(rng.integers(1, 6))
        padding = str(rng.choice(["valid", "same"]))
        if padding == "valid" and p > n:
            continue
        cases.append((n, p, s, padding))
    return cases


RANDOM_CONV = _random_conv_cases(60, seed=2021)
RANDOM_POOL = _random_pool_cases(40, seed=2022)


@pytest.mark.target("conv_output_length")
@pytest.mark.parametrize("case", list(CONV_CASES))
def test_conv_output_length(case, student, reference):
    n, k, s, padding, d = CONV_CASES[case]
    got = student.call("conv_output_length", n, k, stride=s, padding=padding, dilation=d)
    expect_exact(f"{_conv_label(n, k, s, padding, d)} ({case})", got,
                 reference.conv_output_length(n, k, stride=s, padding=padding, dilation=d))


@pytest.mark.target("conv_output_length")
def test_conv_output_length_defaults(student, reference):
    expect_exact("conv_output_length(30, 5) with the defaults (stride 1, 'valid', dilation 1)",
                 student.call("conv_output_length", 30, 5), reference.conv_output_length(30, 5))


@pytest.mark.target("conv_output_length")
def test_conv_output_length_positional(student, reference):
    args = (17, 3, 2, "same", 1)
    expect_exact("conv_output_length(17, 3, 2, 'same', 1), all arguments positional",
                 student.call("conv_output_length", *args), reference.conv_output_length(*args))


@pytest.mark.target("conv_output_length")
def test_conv_output_length_random(student, reference):
    for n, k, s, padding, d in RANDOM_CONV:
        got = student.call("conv_output_length", n, k, stride=s, padding=padding, dilation=d)
        expect_exact(_conv_label(n, k, s, padding, d), got,
                     reference.conv_output_length(n, k, stride=s, padding=padding, dilation=d))


@pytest.mark.target("pool_output_length")
@pytest.mark.parametrize("case", list(POOL_CASES))
def test_pool_output_length(case, student, reference):
    n, p, s, padding = POOL_CASES[case]
    got = student.call("pool_output_length", n, p, stride=s, padding=padding)
    expect_exact(f"{_pool_label(n, p, s, padding)} ({case})", got,
                 reference.pool_output_length(n, p, stride=s, padding=padding))


@pytest.mark.target("pool_output_length")
def test_pool_output_length_defaults(student, reference):
    expect_exact("pool_output_length(13, 2) with the defaults (stride = pool size, 'valid')",
                 student.call("pool_output_length", 13, 2), reference.pool_output_length(13, 2))


@pytest.mark.target("pool_output_length")
def test_pool_output_length_random(student, reference):
    for n, p, s, padding in RANDOM_POOL:
        got = student.call("pool_output_length", n, p, stride=s, padding=padding)
        expect_exact(_pool_label(n, p, s, padding), got, reference.pool_output_length(n, p, stride=s, padding=padding))
