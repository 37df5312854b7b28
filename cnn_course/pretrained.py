"""The pretrained convolutional base of assignment 05 (VGG16), on both data profiles.

``load_conv_base(input_shape=(180, 180, 3))`` returns a ``keras.Model`` named ``vgg16`` with
VGG16's five blocks and layer names (``block1_conv1`` ... ``block5_conv3``, ``block1_pool`` ...
``block5_pool``), pretrained, and expecting its input prepared by ``preprocess_input``
(``keras.applications.vgg16.preprocess_input``: caffe mode, RGB to BGR and the ImageNet mean
subtracted, no scaling).

``full`` profile
    ``keras.applications.VGG16(include_top=False)`` with the ImageNet weights, the file
    ``vgg16_notop`` of ``datasets/manifest.json``, fetched and checked through ``cnn_course.data``
    (size and Keras's own MD5). When it cannot be had, ``DataUnavailable`` says how to pre-stage
    it. Never a fallback to the stand-in.
``embedded`` profile
    A **stand-in base**: the same five blocks and layer names with far fewer filters
    (``STANDIN_FILTERS``: 8, 16, 32, 64, 64 instead of 64, 128, 256, 512, 512), really
    pretrained, by ``tools/make_standin_base.py``, on a larger source task that is not the
    target task: predicting the six facial traits (multi-label) of stand-in drawings made by
    the drawing code of ``cnn_course.data`` from a seed of their own, with each trait a fair
    coin instead of the odds that make a cat or a dog. Like ImageNet for dogs vs cats, the
    source task has seen the kind of images and parts the target needs, never the target's
    images or its labels. The committed file ``datasets/standin/vgg16_standin_base.keras`` is
    checked against the SHA-256 in the manifest's ``standin_files`` before use, and its recipe
    is recorded beside it (``vgg16_standin_base.json``). It is announced wherever it is loaded.

``build_vgg_shaped_base(...)`` builds the architecture with random weights (the grader's small
deterministic bases, and the stand-in before pretraining).
"""

from __future__ import annotations

from pathlib import Path

from . import data

__all__ = [
    "BLOCK_CONVS",
    "STANDIN_FILTERS",
    "STANDIN_NOTICE",
    "VGG16_FILTERS",
    "build_vgg_shaped_base",
    "conv_layer_names",
    "load_conv_base",
    "preprocess_input",
    "random_vgg_shaped_base",
    "standin_base_path",
]

BLOCK_CONVS = (2, 2, 3, 3, 3)  # convolutions per block, as in VGG16
VGG16_FILTERS = (64, 128, 256, 512, 512)
STANDIN_FILTERS = (8, 16, 32, 64, 64)
STANDIN_NAME = "vgg16_standin_base"
STANDIN_NOTICE = (
    "embedded profile: a small stand-in for VGG16 (same blocks and layer names, 8-64 filters), "
    "pretrained on stand-in drawings, not ImageNet"
)
# The stand-in, its recipe record, and the link inside the package that a wheel ships.


def preprocess_input(x, data_format=None):
    """``keras.applications.vgg16.preprocess_input``: RGB to BGR, ImageNet mean subtracted, no scaling.

    The same function on both profiles: the stand-in base was pretrained on inputs prepared this way.
    Works on NumPy arrays and on symbolic tensors inside a functional model.
    """
    import keras

    return keras.applications.vgg16.preprocess_input(x, data_format=data_format)


def conv_layer_names(kind: str = "all") -> list[str]:
    """VGG16's layer names in order: ``"conv"``, ``"pool"`` or ``"all"`` (convolutions and pools)."""
    names = []
    for block, convs in enumerate(BLOCK_CONVS, start=1):
        if kind in ("conv", "all"):
            names += [f"block{block}_conv{i}" for i in range(1, convs + 1)]
        if kind in ("pool", "all"):
            names.append(f"block{block}_pool")
    return names


def build_vgg_shaped_base(input_shape=(180, 180, 3), filters=STANDIN_FILTERS, name: str = "vgg16", seed=None):
    """A VGG16-shaped convolutional base with random weights: ``filters[b]`` 3x3 ReLU convolutions
    (``padding="same"``) per block as in VGG16, each block ending in a 2x2 max pooling, with
    VGG16's layer names. ``seed`` makes the initial weights reproducible."""
    import keras
    from keras import layers

    if len(filters) != len(BLOCK_CONVS):
        raise ValueError(f"filters must give one number per block (5), got {filters!r}")
    inputs = keras.Input(shape=tuple(input_shape), name="input_layer")
    x = inputs
    for block, (convs, width) in enumerate(zip(BLOCK_CONVS, filters), start=1):
        for i in range(1, convs + 1):
            initializer = keras.initializers.GlorotUniform(seed=None if seed is None else seed * 100 + block * 10 + i)
            x = layers.Conv2D(int(width), 3, padding="same", activation="relu", kernel_initializer=initializer,
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D(2, strides=2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name=name)


def random_vgg_shaped_base(input_shape, filters, rng, name: str = "vgg16"):
    """``build_vgg_shaped_base`` with weights drawn from the NumPy generator ``rng``: He-normal kernels
    and small positive biases, so that most ReLU units are alive and every image gets features of its own
    (the grader's small deterministic bases, and the notebook's probes)."""
    base = build_vgg_shaped_base(input_shape, filters, name=name)
    weights = []
    for weight in base.get_weights():
        if weight.ndim == 4:  # a kernel: 3 x 3 x inputs x filters
            fan_in = weight.shape[0] * weight.shape[1] * weight.shape[2]
            weights.append(rng.normal(0.0, (2.0 / fan_in) ** 0.5, weight.shape).astype("float32"))
        else:
            weights.append(rng.uniform(0.02, 0.1, weight.shape).astype("float32"))
    base.set_weights(weights)
    return base


# --------------------------------------------------------------------------- the stand-in file


def standin_base_path() -> Path:
    """The committed stand-in base, checked against the manifest's size and SHA-256 (every call: 1 MB)."""
    return data.standin_file(STANDIN_NAME, remedy="if you retrained it on purpose, update the manifest with "
                                              "tools/make_standin_base.py")


def _load_standin(input_shape):
    import keras

    print(STANDIN_NOTICE, flush=True)
    saved = keras.saving.load_model(standin_base_path(), compile=False, safe_mode=True)
    if tuple(saved.input_shape[1:]) == tuple(input_shape):
        return saved
    # Fully convolutional: the same weights work on any input large enough for five poolings.
    base = build_vgg_shaped_base(input_shape, STANDIN_FILTERS)
    base.set_weights(saved.get_weights())
    return base


def _load_vgg16(input_shape):
    import keras

    path = data.fetch("vgg16_notop")  # DataUnavailable (with what to do) when it cannot be had
    return keras.applications.VGG16(include_top=False, weights=str(path), input_shape=tuple(input_shape))


def load_conv_base(input_shape=(180, 180, 3)):
    """VGG16's pretrained convolutional base (``include_top=False``), named ``vgg16``.

    Full profile: the ImageNet weights (58,889,256 bytes, fetched once and verified; 14,714,688
    parameters, output 5x5x512 at 180x180). Embedded profile: the course's pretrained stand-in
    (same layer names, 230,568 parameters, output 5x5x64 at 180x180), announced as such.
    Feed it images prepared with ``preprocess_input``.
    """
    if len(tuple(input_shape)) != 3 or tuple(input_shape)[-1] != 3:
        raise ValueError(f"input_shape must be (height, width, 3), got {input_shape!r}")
    if data.data_profile() == "embedded":
        return _load_standin(input_shape)
    return _load_vgg16(input_shape)
