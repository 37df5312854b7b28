"""Helpers for assignment 06 (what convnets learn): the networks and images it looks into, plotting
grids, and the pointing game.

Nothing here is graded; the graded functions are the student's. The helpers only fetch, arrange and
measure:

- ``find_convnet_from_scratch()``: the from-scratch dogs-vs-cats network of assignment 04 (the
  student's own file, or the course's reference file), and ``as_two_class(model)``, the same network
  with its single sigmoid unit written as a two-way softmax (one score per class, for Grad-CAM);
- ``standin_test_images()``: the stand-in test images with where each head is drawn
  (``cnn_course.data.standin_with_head``), ``head_masks`` and ``pointing_game``;
- ``channel_grid`` / ``image_grid``: every channel of an activation, or many small images, in one array
  for ``plt.imshow``;
- the full profile's ImageNet pieces, through the data layer with checksums (``vgg16_with_top``,
  ``imagenet_class_index``, ``decode_imagenet``, ``elephant_photograph``). On the embedded profile
  they raise ``DataProfileError``; when a file cannot be had, ``DataUnavailable`` says how to
  pre-stage it. Nothing ever falls back to stand-in data by itself.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data
from .data import DataProfileError, DataUnavailable

__all__ = [
    "CONVNET_FILE",
    "REFERENCE_DIR_ENV",
    "find_convnet_from_scratch",
    "reference_convnet_path",
    "as_two_class",
    "standin_classifier",
    "StandinImages",
    "standin_test_images",
    "head_masks",
    "pointing_game",
    "channel_grid",
    "image_grid",
    "vgg16_with_top",
    "imagenet_class_index",
    "decode_imagenet",
    "elephant_photograph",
    "AFRICAN_ELEPHANT",
]

CONVNET_FILE = "convnet_from_scratch.keras"
REFERENCE_DIR_ENV = "COURSE_REFERENCE_MODELS"
AFRICAN_ELEPHANT = 386  # ImageNet class index (lecture 000)


# --------------------------------------------------------------------------- the network of 04


def reference_convnet_path() -> Path:
    """Where the course's reference copy of 04's from-scratch network lives for the active profile:
    ``$COURSE_REFERENCE_MODELS/<profile>/convnet_from_scratch.keras`` (default
    ``<COURSE_DATA_DIR>/reference-models``). The course team puts it there (the course's tests do, from
    the reference solution of 04 trained once); students use their own file instead."""
    root = os.environ.get(REFERENCE_DIR_ENV, "").strip()
    folder = Path(root).expanduser() if root else data.data_dir() / "reference-models"
    return folder / data.data_profile() / CONVNET_FILE


def find_convnet_from_scratch(search=(".", "../04_small_data_convnets")) -> Path:
    """The file of assignment 04's network trained from scratch, looked for in this order:

    1. ``convnet_from_scratch.keras`` in the folders of ``search``, relative to the working
       directory: next to this notebook (in Colab, upload your 04 file there with the file browser),
       then in assignment 04's folder beside this one (the course's folder layout);
    2. the course's reference file (``reference_convnet_path()``).

    Prints which one it uses. Raises ``FileNotFoundError`` saying what to do when there is none.
    """
    for folder in search:
        path = Path(folder) / CONVNET_FILE
        if path.is_file():
            print(f"using your network of assignment 04: {path}")
            return path
    reference = reference_convnet_path()
    if reference.is_file():
        print(f"using the course's reference network of assignment 04 ({data.data_profile()} profile): {reference}")
        return reference
    looked = ", ".join(str(Path(folder) / CONVNET_FILE) for folder in search)
    raise FileNotFoundError(
        f"No trained network of assignment 04 found (looked at {looked} and {reference}). Copy the "
        f"{CONVNET_FILE} that assignment 04's notebook saved next to this notebook (in Colab: upload it "
        "with the file browser on the left), or ask your course team for the reference file and put it "
        f"at {reference} (or set {REFERENCE_DIR_ENV} to the folder that holds <profile>/{CONVNET_FILE})."
    )


def as_two_class(model, name: str = "two_class"):
    """The same network with its last layer, ``Dense(1, sigmoid)``, replaced by ``Dense(2, softmax)``
    whose two scores are P(class 0) and P(class 1): the same predictions, one score per class.

    softmax([-z/2, z/2]) = [sigmoid(-z), sigmoid(z)], so the new layer's weights are the old ones
    halved, with opposite signs for class 0. The layers before the last are the model's own (shared,
    not copied), with their names, so ``model.get_layer(...)`` finds them in the new model too.
    """
    import keras

    last = model.layers[-1]
    kernel, bias = last.get_weights()
    if kernel.shape[-1] != 1 or getattr(last.activation, "__name__", "") != "sigmoid":
        raise ValueError(f"as_two_class expects a network ending in Dense(1, sigmoid); its last layer is {last.name}")
    head = keras.layers.Dense(2, activation="softmax", name=last.name)
    outputs = head(last.input)
    two_class = keras.Model(model.inputs, outputs, name=name)
    head.set_weights([np.concatenate([-kernel / 2, kernel / 2], axis=1), np.concatenate([-bias / 2, bias / 2])])
    return two_class


def standin_classifier(seed: int = 1337, epochs: int = 30, size: int = 180):
    """The embedded profile's stand-in classifier for Grad-CAM: assignment 05's pretrained stand-in base
    (``cnn_course.pretrained.load_conv_base``, frozen) with a ``Flatten`` and ``Dense(1, sigmoid)`` head
    trained on its features of the stand-in training split (feature extraction, ``epochs`` epochs of
    RMSprop, seeded: a few seconds on a CPU). Returned as one flat functional model (input ->
    ``preprocess_input`` -> the base's layers, with their VGG16 names -> ``flatten`` -> ``predictions``),
    so that Grad-CAM can reach ``block5_conv3``. Embedded profile only (on the full profile, Grad-CAM
    uses VGG16 with its ImageNet classifier: ``vgg16_with_top``).
    """
    import contextlib
    import io

    import keras

    from .pretrained import load_conv_base, preprocess_input

    if data.data_profile() != "embedded":
        raise DataProfileError("standin_classifier is the embedded profile's; the full profile uses vgg16_with_top().")
    base = load_conv_base(input_shape=(size, size, 3))
    with contextlib.redirect_stdout(io.StringIO()):  # the data layer's notice was printed by whoever called us
        train = keras.utils.image_dataset_from_directory(data.make_cats_vs_dogs_small() / "train", image_size=(size, size),
                                                         batch_size=32, shuffle=False, verbose=False)
    images = np.concatenate([x for x, _ in train])
    labels = np.concatenate([y for _, y in train])
    features = base.predict(preprocess_input(images), verbose=0)
    keras.utils.set_random_seed(seed)
    head = keras.Sequential([keras.Input(shape=features.shape[1:]), keras.layers.Flatten(name="flatten"),
                             keras.layers.Dense(1, activation="sigmoid", name="predictions")])
    head.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    head.fit(features, labels, epochs=epochs, batch_size=32, verbose=0)
    # One flat graph: copies of the base's and the head's layers with their weights (a layer already
    # used in another model would tie this graph to that one's).
    inputs = keras.Input(shape=(size, size, 3), name="image")
    x = preprocess_input(inputs)
    for layer in base.layers[1:] + head.layers:
        copy = layer.__class__.from_config(layer.get_config())
        x = copy(x)
        copy.set_weights(layer.get_weights())
    return keras.Model(inputs, x, name="standin_classifier")


# --------------------------------------------------------------------------- stand-ins and the pointing game


@dataclass(frozen=True)
class StandinImages:
    """Stand-in test images at the network's input size, and where their heads are.

    ``images``: float32 (N, size, size, 3), 0..255, as ``image_dataset_from_directory`` reads the
    files (bilinear resize of the whole picture); ``labels``: 0 = cat, 1 = dog; ``names``: the file
    names; ``centres``: (N, 2) head centres (x, y) in the resized images' pixels; ``radii``: (N, 2)
    the head's radius along x and along y there (the drawing's radius, stretched like the image).
    """

    images: np.ndarray
    labels: np.ndarray
    names: list
    centres: np.ndarray
    radii: np.ndarray


def standin_test_images(per_class: int = 100, size: int = 180) -> StandinImages:
    """The first ``per_class`` images of each class of the embedded profile's test split
    (``make_cats_vs_dogs_small()/test``), with their heads (``cnn_course.data.standin_with_head``).
    The embedded profile only: real photographs come with no such geometry."""
    import keras

    if data.data_profile() != "embedded":
        raise DataProfileError("standin_test_images: the head positions are known for the stand-in drawings only "
                               "(COURSE_DATA_PROFILE=embedded).")
    test = data.make_cats_vs_dogs_small() / "test"
    images, labels, names, centres, radii = [], [], [], [], []
    for label, folder in enumerate(("cats", "dogs")):
        files = sorted((test / folder).glob("*.jpg"), key=lambda p: int(re.findall(r"\d+", p.name)[0]))[:per_class]
        for path in files:
            number = int(re.findall(r"\d+", path.name)[0])
            _, head = data.standin_with_head(label, number)
            picture = keras.utils.load_img(path, target_size=(size, size), interpolation="bilinear")
            images.append(keras.utils.img_to_array(picture))
            sx, sy = size / head.width, size / head.height
            centres.append((head.cx * sx, head.cy * sy))
            radii.append((head.r * sx, head.r * sy))
            labels.append(label)
            names.append(f"{folder}/{path.name}")
    return StandinImages(np.stack(images).astype(np.float32), np.array(labels), names,
                         np.array(centres, dtype=np.float64), np.array(radii, dtype=np.float64))


def head_masks(standins: StandinImages, scale: float = 1.0) -> np.ndarray:
    """(N, size, size) booleans: True inside each image's head, the ellipse of the head's radii times
    ``scale`` around its centre."""
    n, height, width = standins.images.shape[:3]
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    dx = (xs[None] - standins.centres[:, 0, None, None]) / (scale * standins.radii[:, 0, None, None])
    dy = (ys[None] - standins.centres[:, 1, None, None]) / (scale * standins.radii[:, 1, None, None])
    return dx ** 2 + dy ** 2 <= 1.0


def pointing_game(heatmaps, masks) -> tuple[float, np.ndarray]:
    """The share of heatmaps whose peak falls inside its image's region (Zhang et al. 2016).

    ``heatmaps``: (N, h, w), any size (e.g. Grad-CAM's 7x7); each is resized to its mask's size with
    OpenCV (bilinear, as the overlays are) before its peak is taken. ``masks``: (N, H, W) booleans.
    Returns (score, hits), ``hits`` one boolean per image. A heatmap that is zero everywhere (nothing
    found for that class) points nowhere: a miss.
    """
    import cv2

    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    masks = np.asarray(masks, dtype=bool)
    if heatmaps.ndim != 3 or masks.ndim != 3 or len(heatmaps) != len(masks):
        raise ValueError(f"expected (N, h, w) heatmaps and (N, H, W) masks, got {heatmaps.shape} and {masks.shape}")
    hits = np.zeros(len(heatmaps), dtype=bool)
    for i, (heatmap, mask) in enumerate(zip(heatmaps, masks)):
        if not np.any(heatmap > 0):
            continue
        resized = cv2.resize(heatmap, (mask.shape[1], mask.shape[0]))  # (width, height)
        y, x = np.unravel_index(int(np.argmax(resized)), resized.shape)
        hits[i] = bool(mask[y, x])
    return float(hits.mean()) if len(hits) else 0.0, hits


# --------------------------------------------------------------------------- grids for plotting


def channel_grid(activation, columns: int = 16, gap: int = 1) -> np.ndarray:
    """Every channel of one image's activation (h, w, channels) side by side, ``columns`` per row,
    each channel standardised on its own (mean 0, standard deviation 1, then to 0..1) so that weak and
    strong channels are both visible; a constant (dead) channel is shown as 0. Returns a float array
    for ``plt.imshow(grid, cmap="viridis")``; empty cells and gaps are NaN (drawn blank)."""
    activation = np.asarray(activation, dtype=np.float64)
    if activation.ndim == 4 and activation.shape[0] == 1:
        activation = activation[0]
    if activation.ndim != 3:
        raise ValueError(f"channel_grid expects one image's activation (h, w, channels), got {activation.shape}")
    h, w, channels = activation.shape
    columns = min(columns, channels)
    rows = -(-channels // columns)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for c in range(channels):
        channel = activation[..., c]
        spread = channel.std()
        shown = np.zeros_like(channel) if spread < 1e-12 else np.clip((channel - channel.mean()) / spread / 4 + 0.5, 0, 1)
        r, k = divmod(c, columns)
        grid[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = shown
    return grid


def image_grid(images, columns: int = 8, gap: int = 4, fill: int = 255) -> np.ndarray:
    """Small images (N, h, w, 3) uint8 in one picture, ``columns`` per row, with ``gap`` pixels of
    ``fill`` between them (the lecture's grid of filter patterns)."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    columns = min(columns, n)
    rows = -(-n // columns)
    grid = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap) + images.shape[3:], fill, dtype=images.dtype)
    for i, image in enumerate(images):
        r, k = divmod(i, columns)
        grid[r * (h + gap):r * (h + gap) + h, k * (w + gap):k * (w + gap) + w] = image
    return grid


# --------------------------------------------------------------------------- ImageNet (full profile)


def _full_only(what: str) -> None:
    if data.data_profile() != "full":
        raise DataProfileError(f"{what} is the full profile's (VGG16 trained on ImageNet, real photographs); the "
                               "embedded profile uses the stand-in classifier and stand-in images instead.")


def vgg16_with_top():
    """``keras.applications.VGG16(weights=...)`` with its ImageNet classifier (1,000 classes, 224x224
    inputs), from the manifest's ``vgg16_top`` file (553 MB, fetched once and checked). Full profile."""
    import keras

    _full_only("vgg16_with_top")
    weights = data.fetch("vgg16_top")
    return keras.applications.VGG16(weights=str(weights), include_top=True)


def imagenet_class_index() -> dict[int, tuple[str, str]]:
    """ImageNet's class index -> (WordNet id, class name), from the manifest's ``imagenet_class_index``
    (the file ``decode_predictions`` reads, fetched through the data layer with its checksum)."""
    path = data.fetch("imagenet_class_index")
    with open(path, encoding="utf-8") as handle:
        raw = json.load(handle)
    return {int(k): (v[0], v[1]) for k, v in raw.items()}


def decode_imagenet(predictions, top: int = 3) -> list[list[tuple[str, str, float]]]:
    """``keras.applications.imagenet_utils.decode_predictions`` without its own download: for each row
    of ``predictions`` (N, 1000), the ``top`` classes as (WordNet id, name, probability), best first."""
    predictions = np.asarray(predictions)
    if predictions.ndim != 2 or predictions.shape[1] != 1000:
        raise ValueError(f"decode_imagenet expects (N, 1000) ImageNet scores, got {predictions.shape}")
    index = imagenet_class_index()
    return [[(*index[int(k)], float(row[k])) for k in np.argsort(row)[::-1][:top]] for row in predictions]


def elephant_photograph() -> Path:
    """The lecture's photograph of African elephants (manifest ``african_elephant``). Full profile."""
    _full_only("elephant_photograph")
    return data.fetch("african_elephant")


__all__ += ["DataUnavailable"]
