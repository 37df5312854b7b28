"""Hidden checks for summarize_stack(input_shape, layers): every layer's output shape and parameter
count, compared with what Keras reports for the same stack.

The expected rows come from Keras itself, built here in the grader's process: the lectures'
networks (VGG16 from keras.applications, with weights=None), stacks that single out one rule each,
and 30 random stacks drawn for each submission (``hidden_rng``: from the course secret and the
submission's digest, so they differ between students and stay the same on a re-grading). Keras is
imported only when these checks run; its answers for the fixed cases are kept for the rest of the
process, those for one submission's random stacks for that grading.
"""

import math
import os

import numpy as np
import pytest

from autograder.harness import expect, hidden_rng, process_cache

RANDOM_STACKS = 30
# case -> (input_shape, layers, expected rows); filled on first use, kept across gradings
_KERAS_ROWS: dict = process_cache("02_shapes_params_cost/keras_rows")
_THIS_SUBMISSION: dict = {}  # this module is imported afresh for every grading


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    return keras


def keras_layer(spec):
    """The Keras layer a stack description stands for (activations play no part in shapes)."""
    layers = _keras().layers
    kind = spec["type"]
    if kind == "conv2d":
        return layers.Conv2D(spec["filters"], spec["kernel_size"], strides=spec.get("strides", 1),
                             padding=spec.get("padding", "valid"), dilation_rate=spec.get("dilation", 1),
                             use_bias=spec.get("use_bias", True))
    if kind in ("max_pool2d", "average_pool2d"):
        pool = layers.MaxPooling2D if kind == "max_pool2d" else layers.AveragePooling2D
        return pool(spec.get("pool_size", 2), strides=spec.get("strides"), padding=spec.get("padding", "valid"))
    if kind == "global_average_pool2d":
        return layers.GlobalAveragePooling2D()
    if kind == "flatten":
        return layers.Flatten()
    if kind == "dense":
        return layers.Dense(spec["units"], use_bias=spec.get("use_bias", True))
    if kind == "dropout":
        return layers.Dropout(spec.get("rate", 0.5))
    if kind == "rescaling":
        return layers.Rescaling(spec.get("scale", 1.0), offset=spec.get("offset", 0.0))
    raise ValueError(f"unknown layer type {kind!r}")


def _apply(tensor, spec):
    """Apply one described layer to a symbolic Keras tensor: (new tensor, (output shape, params))."""
    layer = keras_layer(spec)
    out = layer(tensor)
    shape = tuple(int(v) for v in out.shape[1:])
    if any(v < 1 for v in shape):
        raise ValueError(f"empty output {shape}")
    return out, (shape, int(layer.count_params()))


def keras_summary(input_shape, layers):
    """[(output shape without the batch axis, parameter count)] for each layer, from Keras."""
    tensor = _keras().Input(shape=tuple(input_shape))
    rows = []
    for spec in layers:
        tensor, row = _apply(tensor, spec)
        rows.append(row)
    return rows


# -- the lectures' networks --------------------------------------------------------------------

def _conv(filters, kernel_size=3, **extra):
    return {"type": "conv2d", "filters": filters, "kernel_size": kernel_size, **extra}


MNIST = [_conv(32, activation="relu"), {"type": "max_pool2d", "pool_size": 2},
         _conv(64, activation="relu"), {"type": "max_pool2d", "pool_size": 2},
         _conv(64, activation="relu"), {"type": "flatten"},
         {"type": "dense", "units": 64, "activation": "relu"}, {"type": "dense", "units": 10, "activation": "softmax"}]
DOGS_150 = [layer for f in (32, 64, 128, 128) for layer in (_conv(f, (3, 3), activation="relu"),
                                                              {"type": "max_pool2d", "pool_size": (2, 2)})]
DOGS_150 += [{"type": "flatten"}, {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 512, "activation": "relu"},
             {"type": "dense", "units": 1, "activation": "sigmoid"}]
DOGS_180 = [{"type": "rescaling", "scale": 1 / 255}]
DOGS_180 += [layer for f in (32, 64, 128, 256) for layer in (_conv(f), {"type": "max_pool2d", "pool_size": 2})]
DOGS_180 += [_conv(256), {"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]
VGG16_BASE = [layer for convs, f in ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
              for layer in [_conv(f, padding="same", activation="relu")] * convs + [{"type": "max_pool2d", "pool_size": 2}]]
VGG16_HEAD = [{"type": "flatten"}, {"type": "dense", "units": 256, "activation": "relu"},
              {"type": "dense", "units": 1, "activation": "sigmoid"}]

LECTURE_CASES = {
    "lecture 002's MNIST convnet": ((28, 28, 1), MNIST),
    "lecture 002's MNIST convnet without max pooling, with Flatten and Dense(512) on top":
        ((28, 28, 1), [layer for layer in MNIST[:5] if layer["type"] == "conv2d"]
         + [{"type": "flatten"}, {"type": "dense", "units": 512}]),
    "lecture 003's MNIST convnet with padding='same'":
        ((28, 28, 1), [dict(layer, padding="same") if layer["type"] == "conv2d" else layer for layer in MNIST]),
    "a dense network on MNIST pixels (Flatten, Dense(512), Dense(10))":
        ((28, 28, 1), [{"type": "flatten"}, {"type": "dense", "units": 512}, {"type": "dense", "units": 10}]),
    "the dogs-vs-cats convnet at 150x150, with dropout": ((150, 150, 3), DOGS_150),
    "lecture 001's dogs-vs-cats convnet at 180x180, with Rescaling": ((180, 180, 3), DOGS_180),
    "VGG16's convolutional base at 150x150 with Flatten, Dense(256), Dense(1)": ((150, 150, 3), VGG16_BASE + VGG16_HEAD),
}

# -- stacks that single out one rule each -------------------------------------------------------

RULE_CASES = {
    "only the required keys (every default)":
        ((20, 18, 3), [{"type": "conv2d", "filters": 6, "kernel_size": 3}, {"type": "max_pool2d"},
                       {"type": "average_pool2d"}, {"type": "flatten"}, {"type": "dense", "units": 5}]),
    "dense applied to a feature map (it acts on the last axis)":
        ((6, 5, 8), [{"type": "dense", "units": 4}, {"type": "dense", "units": 3, "use_bias": False},
                     {"type": "flatten"}, {"type": "dense", "units": 2}]),
    "global average pooling before the classifier":
        ((32, 32, 3), [_conv(16), {"type": "max_pool2d", "pool_size": 2}, _conv(24),
                       {"type": "global_average_pool2d"}, {"type": "dense", "units": 10}]),
    "dilated convolutions, 'valid' and 'same'":
        ((32, 30, 3), [_conv(8, 3, dilation=2), _conv(8, 3, dilation=3, padding="same"),
                       _conv(4, (3, 5), dilation=(2, 1)), _conv(2, 2, dilation=(1, 4), padding="valid")]),
    "'same' convolutions and pooling with stride 2 on odd sizes":
        ((15, 17, 3), [_conv(8, 3, strides=2, padding="same"), {"type": "max_pool2d", "pool_size": 3, "strides": 2,
                                                                 "padding": "same"},
                       {"type": "average_pool2d", "pool_size": 2, "padding": "same"}, _conv(4, 2, strides=3, padding="same")]),
    "'valid' strides that leave positions over":
        ((23, 20, 2), [_conv(4, 3, strides=2), _conv(4, 4, strides=3), {"type": "max_pool2d", "pool_size": 2,
                                                                          "strides": 3}]),
    "rectangular kernels, strides and pools given as pairs":
        ((24, 31, 3), [_conv(5, (2, 5), strides=(1, 2)), {"type": "max_pool2d", "pool_size": (3, 2), "strides": (1, 2)},
                       _conv(7, [3, 1], strides=[2, 1]), {"type": "average_pool2d", "pool_size": (2, 3)}]),
    "no biases (use_bias=False) in convolutions and dense layers":
        ((12, 12, 4), [_conv(8, 3, use_bias=False), _conv(8, 1, use_bias=True), {"type": "flatten"},
                       {"type": "dense", "units": 6, "use_bias": False}]),
    "1x1 convolutions change only the channels":
        ((28, 28, 256), [_conv(64, 1), _conv(64, 3, padding="same"), _conv(256, 1)]),
    "overlapping pooling windows (stride smaller than the window)":
        ((17, 16, 3), [{"type": "max_pool2d", "pool_size": 3, "strides": 1},
                       {"type": "average_pool2d", "pool_size": (3, 2), "strides": 2}]),
    "dropout and rescaling between other layers":
        ((10, 10, 1), [{"type": "rescaling", "scale": 1 / 255, "offset": -0.5}, _conv(3), {"type": "dropout", "rate": 0.2},
                       {"type": "flatten"}, {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 4}]),
    "a 1-D input (784 pixels) into dense layers":
        ((784,), [{"type": "dense", "units": 512}, {"type": "dropout", "rate": 0.5}, {"type": "dense", "units": 10}]),
}

# -- random stacks ------------------------------------------------------------------------------


def _size(rng, low, high):
    if rng.random() < 0.3:
        return (int(rng.integers(low, high + 1)), int(rng.integers(low, high + 1)))
    return int(rng.integers(low, high + 1))


def _candidate(rng):
    if rng.random() < 0.55:
        spec = {"type": "conv2d", "filters": int(rng.integers(1, 33)), "kernel_size": _size(rng, 1, 5)}
        if rng.random() < 0.5:
            spec["padding"] = str(rng.choice(["valid", "same"]))
        if rng.random() < 0.3:
            spec["dilation"] = _size(rng, 1, 3)
        elif rng.random() < 0.5:
            spec["strides"] = _size(rng, 1, 3)
        if rng.random() < 0.25:
            spec["use_bias"] = False
        return spec
    spec = {"type": str(rng.choice(["max_pool2d", "average_pool2d"]))}
    if rng.random() < 0.7:
        spec["pool_size"] = _size(rng, 2, 3)
    if rng.random() < 0.4:
        spec["strides"] = _size(rng, 1, 3)
    if rng.random() < 0.5:
        spec["padding"] = str(rng.choice(["valid", "same"]))
    return spec


def _random_stack(rng):
    """A random stack that Keras accepts, and Keras's rows for it."""
    keras = _keras()
    shape = (int(rng.integers(8, 72)), int(rng.integers(8, 72)), int(rng.choice([1, 3, 4, 16])))
    tensor = keras.Input(shape=shape)
    layers, rows = [], []

    def add(spec):
        nonlocal tensor
        tensor, row = _apply(tensor, spec)
        layers.append(spec)
        rows.append(row)

    if rng.random() < 0.3:
        add({"type": "rescaling", "scale": 1 / 255})
    for _ in range(int(rng.integers(1, 6))):
        for _ in range(50):  # draw until Keras accepts the layer on this input
            try:
                add(_candidate(rng))
                break
            except ValueError:
                continue
        if rng.random() < 0.15:
            add({"type": "dropout", "rate": 0.25})
    ending = rng.random()
    if ending < 0.45:
        add({"type": "flatten"})
    elif ending < 0.75:
        add({"type": "global_average_pool2d"})
    if ending < 0.9:
        if rng.random() < 0.3:
            add({"type": "dropout", "rate": 0.5})
        for _ in range(int(rng.integers(1, 3))):
            spec = {"type": "dense", "units": int(rng.integers(1, 65))}
            if rng.random() < 0.25:
                spec["use_bias"] = False
            add(spec)
    return shape, layers, rows


def _vgg16_rows():
    keras = _keras()
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(150, 150, 3))
    rows = [(tuple(int(v) for v in layer.output.shape[1:]), int(layer.count_params()))
            for layer in base.layers if not isinstance(layer, keras.layers.InputLayer)]
    tensor = base.output
    for spec in VGG16_HEAD:
        tensor, row = _apply(tensor, spec)
        rows.append(row)
    return rows


def expected_case(case):
    """(input_shape, layers, Keras's rows) for a named case or ('random', i); computed once."""
    if isinstance(case, tuple) and case[0] == "random":
        if case not in _THIS_SUBMISSION:
            rng = hidden_rng("random stacks")
            for i in range(RANDOM_STACKS):
                _THIS_SUBMISSION[("random", i)] = _random_stack(rng)
        return _THIS_SUBMISSION[case]
    if case not in _KERAS_ROWS:
        if case == "VGG16's convolutional base at 150x150 with Flatten, Dense(256), Dense(1)":
            shape, layers = LECTURE_CASES[case]
            _KERAS_ROWS[case] = (shape, layers, _vgg16_rows())
        else:
            shape, layers = {**LECTURE_CASES, **RULE_CASES}[case]
            _KERAS_ROWS[case] = (shape, layers, keras_summary(shape, layers))
    return _KERAS_ROWS[case]


# -- comparing -------------------------------------------------------------------------------------

def _value(value):
    return f"{value:.6g}" if isinstance(value, float) else repr(value)


def describe(spec):
    arguments = ", ".join(f"{key}={_value(value)}" for key, value in spec.items() if key != "type")
    return f"{spec['type']}({arguments})" if arguments else spec["type"]


def describe_stack(input_shape, layers):
    return " -> ".join([f"input {tuple(input_shape)}"] + [describe(spec) for spec in layers])


def _as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return _as_int(value.item())
    return None


def _as_shape(value):
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        items = [_as_int(v) for v in value]
        if all(item is not None for item in items):
            return tuple(items)
    return None


def _short(value, limit=80):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def expect_rows(label, input_shape, layers, got, expected):
    n = len(expected)
    expect(isinstance(got, (list, tuple)),
           f"{label}: expected a list of {n} (output_shape, param_count) pairs, got {_short(got)}.", "")
    expect(len(got) == n, f"{label}: expected {n} (output_shape, param_count) pairs, one per layer, "
                          f"got {len(got)}.", "")
    shapes_in = [tuple(input_shape)] + [shape for shape, _ in expected]
    for i, (spec, entry, (shape, params)) in enumerate(zip(layers, got, expected)):
        where = f"{label}: layer {i + 1} of {n}, {describe(spec)} on an input of shape {shapes_in[i]}"
        expect(isinstance(entry, (list, tuple)) and len(entry) == 2,
               f"{where}: expected a pair (output_shape, param_count), got {_short(entry)}.", "")
        got_shape, got_params = _as_shape(entry[0]), _as_int(entry[1])
        expect(got_shape == shape and got_params == params,
               f"{where}: expected output shape {shape} and {params:,} parameters, got "
               f"{_short(entry[0])} and {_short(entry[1])}.", "")
    expect(True, "", f"{label}: all {n} layers match Keras (output shapes and parameter counts; "
                     f"{sum(p for _, p in expected):,} parameters in total)")


def _check(case, label, student):
    shape, layers, expected = expected_case(case)
    got = student.call("summarize_stack", shape, layers)
    expect_rows(f"summarize_stack, {label}", shape, layers, got, expected)


@pytest.mark.target("summarize_stack")
@pytest.mark.parametrize("case", list(LECTURE_CASES))
def test_lecture_networks(case, student):
    shape, layers = LECTURE_CASES[case]
    _check(case, f"{case} (input {shape}, {len(layers)} layers), compared with Keras", student)


@pytest.mark.target("summarize_stack")
@pytest.mark.parametrize("case", list(RULE_CASES))
def test_rules(case, student):
    shape, layers = RULE_CASES[case]
    _check(case, f"{case}: {describe_stack(shape, layers)}, compared with Keras", student)


@pytest.mark.target("summarize_stack")
@pytest.mark.parametrize("index", range(RANDOM_STACKS))
def test_random_stack(index, student):
    shape, layers, _ = expected_case(("random", index))
    _check(("random", index), f"random stack {index + 1} of {RANDOM_STACKS}: "
                              f"{describe_stack(shape, layers)}, compared with Keras", student)
