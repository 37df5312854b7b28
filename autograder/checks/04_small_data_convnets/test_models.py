"""Hidden checks for build_convnet_from_scratch and build_convnet_with_augmentation.

Each model is saved as a ``.keras`` file in the student's worker and described
(``keras_model_description``: compile settings and every layer it runs, nested models opened up) in
a sandbox worker that never ran the student's code; the description is compared here, layer by
layer, with the instructor's model described the same way.
"""

import math

import numpy as np
import pytest

from autograder.harness import expect, process_cache
from autograder.sandbox.inspectors import keras_model_description

AUGMENTATION = ["RandomFlip", "RandomRotation", "RandomZoom"]
CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "rate", "scale", "offset",
               "dilation_rate", "use_bias")
ACCURACY_NAMES = {"accuracy", "acc", "binary_accuracy"}
_REFERENCES = process_cache("04_small_data_convnets/model_descriptions")


def _reference(reference, builder):
    if builder not in _REFERENCES:
        _REFERENCES[builder] = keras_model_description(getattr(reference, builder)())
    return _REFERENCES[builder]


def _split(leaves):
    """(augmentation layers, the other layers); Dropout right before Flatten counts as right after it
    (dropping elements before or after flattening is the same operation)."""
    augmentation = [leaf for leaf in leaves if leaf["type"].startswith("Random")]
    core = [leaf for leaf in leaves if not leaf["type"].startswith("Random")]
    for i in range(len(core) - 1):
        if core[i]["type"] == "Dropout" and core[i + 1]["type"] == "Flatten":
            core[i], core[i + 1] = core[i + 1], dict(core[i], output_shape=core[i + 1]["output_shape"])
    return augmentation, core


def _same_value(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-3,
                                                                                              abs_tol=1e-9)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    return a == b


def _describe(leaf) -> str:
    parts = [leaf["type"]]
    if leaf.get("output_shape"):
        parts.append(f"output {tuple(leaf['output_shape'][1:])}")
    parts.append(f"{leaf['params']:,} parameters")
    if leaf.get("activation") not in (None, "linear"):
        parts.append(f"activation {leaf['activation']}")
    settings = {k: v for k, v in leaf["config"].items() if k in CONFIG_KEYS and k not in ("strides", "padding",
                                                                                       "dilation_rate", "use_bias")}
    if settings:
        parts.append(", ".join(f"{k}={v}" for k, v in settings.items()))
    return ", ".join(parts)


def _first_difference(got, expected):
    for index, (mine, theirs) in enumerate(zip(got, expected)):
        same = (mine["type"] == theirs["type"] and mine["params"] == theirs["params"]
                and mine.get("activation") == theirs.get("activation")
                and _same_value(mine.get("output_shape"), theirs.get("output_shape"))
                and all(_same_value(mine["config"].get(k), theirs["config"].get(k)) for k in CONFIG_KEYS
                        if k in theirs["config"]))
        if not same:
            return (f"layer {index + 1} is {_describe(mine)}; expected {_describe(theirs)}")
    if len(got) != len(expected):
        return (f"{len(got)} layers instead of {len(expected)}: "
                + (f"unexpected {_describe(got[len(expected)])} at the end" if len(got) > len(expected)
                   else f"the last one, {_describe(expected[len(got)])}, is missing"))
    return None


def _check_layers(builder, got, expected):
    _, core = _split(got["leaves"])
    _, expected_core = _split(expected["leaves"])
    types = " -> ".join(leaf["type"] for leaf in expected_core)
    difference = _first_difference(core, expected_core)
    expect(difference is None,
           f"{builder}(): {difference}. The network should run {types} (not counting the augmentation layers).",
           f"{builder}(): {len(core)} layers with the expected types, output shapes, parameters, activations and "
           "settings")


def _check_input_and_size(builder, got, expected):
    expect(_same_value(got["input_shape"], expected["input_shape"]),
           f"{builder}(): the model's input shape is {got['input_shape']}; expected {expected['input_shape']} "
           "(a batch of 180x180 RGB images).", f"{builder}(): input shape {expected['input_shape']}")
    expect(got["total_params"] == expected["total_params"],
           f"{builder}(): {got['total_params']:,} parameters; expected {expected['total_params']:,}.",
           f"{builder}(): {expected['total_params']:,} parameters")


def _rate(value):
    return "unknown (a schedule?)" if value is None else f"{value:.6g}"


def _check_compile(builder, got):
    loss = got.get("loss_function") or got.get("loss")
    expect(got["compiled"] and got["optimizer"] is not None,
           f"{builder}() returns a model that is not compiled: call model.compile(...) before returning it.",
           f"{builder}() returns a compiled model")
    expect(got["optimizer"] == "RMSprop" and got["learning_rate"] is not None
           and math.isclose(got["learning_rate"], 1e-3, rel_tol=1e-4),
           f"{builder}(): optimizer {got['optimizer']} with learning rate {_rate(got['learning_rate'])}; expected RMSprop "
           "with its default learning rate 0.001 (optimizer=\"rmsprop\").", f"{builder}(): RMSprop, learning rate 0.001")
    expect(loss == "binary_crossentropy",
           f"{builder}(): loss {loss!r}; expected 'binary_crossentropy' (one sigmoid output, labels 0 and 1).",
           f"{builder}(): loss binary_crossentropy")
    expect(bool(ACCURACY_NAMES & set(got["metrics"])),
           f"{builder}(): metrics {got['metrics']}; expected accuracy among them (metrics=[\"accuracy\"]).",
           f"{builder}(): metric accuracy")


@pytest.fixture(scope="module")
def scratch(student):
    return student.describe("build_convnet_from_scratch")


@pytest.fixture(scope="module")
def regularised(student):
    return student.describe("build_convnet_with_augmentation")


FROM_SCRATCH = pytest.mark.target("build_convnet_from_scratch")
WITH_AUGMENTATION = pytest.mark.target("build_convnet_with_augmentation")


@FROM_SCRATCH
def test_from_scratch_input_and_size(scratch, reference):
    _check_input_and_size("build_convnet_from_scratch", scratch, _reference(reference, "build_convnet_from_scratch"))


@FROM_SCRATCH
def test_from_scratch_layers(scratch, reference):
    _check_layers("build_convnet_from_scratch", scratch, _reference(reference, "build_convnet_from_scratch"))


@FROM_SCRATCH
def test_from_scratch_has_no_augmentation_or_dropout(scratch):
    extra = [leaf["type"] for leaf in scratch["leaves"] if leaf["type"].startswith("Random") or leaf["type"] == "Dropout"]
    expect(not extra, f"build_convnet_from_scratch() contains {extra}: the first network has no augmentation and no "
                      "dropout (those come in section 6).", "build_convnet_from_scratch(): no augmentation, no dropout")


@FROM_SCRATCH
def test_from_scratch_compile_settings(scratch):
    _check_compile("build_convnet_from_scratch", scratch)


@WITH_AUGMENTATION
def test_with_augmentation_input_and_size(regularised, reference):
    _check_input_and_size("build_convnet_with_augmentation", regularised,
                          _reference(reference, "build_convnet_with_augmentation"))


@WITH_AUGMENTATION
def test_with_augmentation_layers(regularised, reference):
    _check_layers("build_convnet_with_augmentation", regularised,
                  _reference(reference, "build_convnet_with_augmentation"))


@WITH_AUGMENTATION
def test_augmentation_stage_comes_first(regularised):
    leaves = regularised["leaves"]
    augmentation, _ = _split(leaves)
    types = [leaf["type"] for leaf in augmentation]
    first_conv = next((i for i, leaf in enumerate(leaves) if leaf["type"] == "Conv2D"), len(leaves))
    positions = [i for i, leaf in enumerate(leaves) if leaf["type"].startswith("Random")]
    expect(types == AUGMENTATION and all(i < first_conv for i in positions),
           f"build_convnet_with_augmentation() runs the augmentation layers {types}"
           + (" after a convolution" if any(i > first_conv for i in positions) else "")
           + f"; expected {AUGMENTATION}, in this order, right after the input (before Rescaling and the "
             "convolutions).",
           "the augmentation stage (RandomFlip, RandomRotation, RandomZoom) comes first")
    configs = {leaf["type"]: leaf["config"] for leaf in augmentation}
    flip, rotation, zoom = (configs.get(kind, {}) for kind in AUGMENTATION)
    factor = rotation.get("factor")
    factor = (-factor, factor) if isinstance(factor, (int, float)) else factor
    height = zoom.get("height_factor")
    height = (-height, height) if isinstance(height, (int, float)) else height
    expect(flip.get("mode") == "horizontal" and _same_value(factor, (-0.1, 0.1)) and _same_value(height, (-0.2, 0.2))
           and zoom.get("width_factor") is None,
           "build_convnet_with_augmentation(): the augmentation layers' settings are "
           f"RandomFlip(mode={flip.get('mode')!r}), RandomRotation(factor={rotation.get('factor')!r}), "
           f"RandomZoom(height_factor={zoom.get('height_factor')!r}, width_factor={zoom.get('width_factor')!r}); "
           "expected those of make_augmentation: RandomFlip(\"horizontal\"), RandomRotation(0.1), RandomZoom(0.2).",
           "augmentation settings as in make_augmentation")


@WITH_AUGMENTATION
def test_with_augmentation_compile_settings(regularised):
    _check_compile("build_convnet_with_augmentation", regularised)
