"""The stand-in cats and dogs of the embedded profile, drawn with Pillow: ``standin_with_head``.

Each stand-in is drawn from its own seed (class, number), so the set can grow without
changing earlier images and any image can be regenerated alone. Cats and dogs share
backgrounds, fur colours, poses and camera effects; they differ only in the odds of
six facial traits (see TRAIT_ODDS). ``seed`` picks another family of drawings: the grader
draws its held-out stand-ins from seeds of its own, tools/make_standin_base.py its source task.

Any change to a drawing changes the course's files: change STANDIN_VERSION (standins.py) with it,
and DRAWING_CODE_VERSION when the drawing code itself changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageOps

_STANDIN_SEED = 20240917  # the course's stand-ins


_FUR_COLOURS = [
    (205, 125, 55),  # ginger
    (110, 110, 115),  # grey
    (35, 33, 33),  # black
    (236, 230, 220),  # white
    (135, 90, 55),  # brown
    (220, 195, 150),  # cream
    (165, 155, 145),  # silver
    (90, 60, 40),  # dark brown
]

# Each trait takes its cat form with this probability in cats and its dog form with the
# same probability in dogs. No single trait decides the class, but together they do: each trait
# takes the other class's form in about one drawing in seven, and the best possible guess from
# all six is right about 97% of the time. The odds and the pose (STANDIN_POSE) are set so that
# lecture 001's network, trained from scratch on 200 stand-ins per class, finds its lowest
# validation loss after 12 to 15 of its 30 epochs and then overfits, while augmentation and dropout
# push that point 20 to 24 epochs later and end higher on the test split (measured on three
# seeds: autograder/checks/04_small_data_convnets/standin_lessons.json). With odds of 0.95
# (version 2) nothing overfitted within 20 epochs; with 0.8 or 0.85 and version 2's pose,
# augmentation did not end higher on the notebook's seed.
TRAIT_ODDS = {
    "pointed_ears": 0.85,  # or floppy ears
    "wide_head": 0.85,  # or a taller head
    "no_muzzle": 0.85,  # or a light, protruding muzzle
    "slit_eyes": 0.85,  # coloured almond eyes, or round dark eyes
    "pink_nose": 0.85,  # small pink triangle, or a big black nose
    "whiskers": 0.85,  # long whiskers, or none
}

# What the drawing code draws, as the stand-in VGG16 base's recipe depends on it
# (tools/make_standin_base.py): change it with any change to how a drawing is drawn from its
# traits and pose, not with a change of TRAIT_ODDS or STANDIN_POSE, which the source task sets itself.
DRAWING_CODE_VERSION = "2"


@dataclass(frozen=True)
class Pose:
    """How large the head is and how far the animal turns: the head's radius is drawn uniformly
    from ``head_radius`` (fractions of the image's shorter side), the turn uniformly from
    -``max_turn`` to ``max_turn`` degrees about the head's centre."""

    head_radius: tuple[float, float]
    max_turn: float


# Heads from small to large and turns of up to 40 degrees: the variety that augmentation (flips,
# rotations of up to 36 degrees, zooms of up to 20%) lets a network learn from fewer drawings.
STANDIN_POSE = Pose(head_radius=(0.22, 0.42), max_turn=40)


def _traits(rng, label: int) -> dict[str, bool]:
    """True means the cat form of the trait (label 0 = cat, 1 = dog)."""
    return {name: bool(rng.random() < odds) == (label == 0) for name, odds in TRAIT_ODDS.items()}


def _jitter(rng, colour, amount=18):
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in colour)


def _mix(colour, other, weight):
    return tuple(int(round(c * (1 - weight) + o * weight)) for c, o in zip(colour, other))


def _random_colour(rng, low=20, high=240, alpha=None):
    colour = tuple(int(v) for v in rng.integers(low, high, 3))
    return colour if alpha is None else (*colour, alpha)


def _ellipse(draw, cx, cy, rx, ry, fill):
    draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=fill)


def _background(rng, width: int, height: int) -> Image.Image:
    """A blurred room/garden-like scene: a colour gradient with soft shapes on it.

    Some shapes are triangles and fur-coloured blobs, so "pointy" or "furry" alone does
    not mean cat or dog.
    """
    top, bottom = _random_colour(rng, 40, 220), _random_colour(rng, 40, 220)
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = (1 - ramp) * np.array(top) + ramp * np.array(bottom)
    scene = Image.fromarray(np.broadcast_to(pixels, (height, width, 3)).astype(np.uint8)).convert("RGBA")
    shapes = Image.new("RGBA", scene.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(shapes)
    for _ in range(int(rng.integers(2, 6))):
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
        x1, y1 = x0 + rng.uniform(0.1, 0.6) * width, y0 + rng.uniform(0.1, 0.6) * height
        if rng.random() < 0.3:
            fur = _jitter(rng, _FUR_COLOURS[int(rng.integers(len(_FUR_COLOURS)))])
            colour = (*fur, int(rng.integers(120, 220)))
        else:
            colour = _random_colour(rng, alpha=int(rng.integers(70, 200)))
        kind = rng.random()
        if kind < 0.4:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif kind < 0.75:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.polygon([(x0, y1), (x1, y1), (rng.uniform(x0, x1), y0)], fill=colour)
    scene.alpha_composite(shapes)
    return scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.005, 0.025) * width))


@dataclass
class _Head:
    """Where the head is and its colours; shared by all the feature drawers."""

    cx: float
    cy: float
    r: float
    fur: tuple
    shade: tuple
    light: tuple
    yaw: float  # horizontal shift of the face features, in head radii

    @property
    def face_x(self) -> float:
        return self.cx + self.yaw * self.r

    @property
    def line_width(self) -> int:
        return max(1, int(self.r * 0.03))


def _draw_body(draw, rng, head: _Head) -> None:
    bx = head.cx + rng.uniform(-0.4, 0.4) * head.r
    by = head.cy + rng.uniform(1.3, 1.7) * head.r
    rx, ry = rng.uniform(1.1, 1.5) * head.r, rng.uniform(1.0, 1.3) * head.r
    _ellipse(draw, bx, by, rx, ry, head.fur)
    if rng.random() < 0.4:  # a light chest patch
        _ellipse(draw, bx, by - 0.3 * ry, 0.45 * rx, 0.45 * ry, head.light)


def _draw_pointed_ears(draw, rng, head: _Head) -> None:
    r = head.r
    height, spread = rng.uniform(1.3, 1.6), rng.uniform(0.55, 0.75)
    inner_colour = _jitter(rng, (225, 155, 160)) if rng.random() < 0.7 else None
    for side in (-1, 1):
        corners = [
            (head.cx + side * 0.88 * r, head.cy - 0.3 * r),
            (head.cx + side * 0.18 * r, head.cy - 0.88 * r),
            (head.cx + side * spread * r, head.cy - height * r),
        ]
        draw.polygon(corners, fill=head.fur)
        if inner_colour is not None:
            centre = np.mean(corners, axis=0)
            draw.polygon([tuple(centre + 0.55 * (np.array(p) - centre)) for p in corners], fill=inner_colour)


def _draw_floppy_ears(draw, rng, head: _Head) -> None:
    r = head.r
    length, width = rng.uniform(0.6, 0.9), rng.uniform(0.25, 0.38)
    angles = np.linspace(0, 2 * np.pi, 24)
    for side in (-1, 1):
        tilt = side * rng.uniform(0.1, 0.4)  # a hanging ellipse, tilted outwards
        x, y = width * r * np.cos(angles), length * r * np.sin(angles)
        xs = head.cx + side * 0.85 * r + x * np.cos(tilt) - y * np.sin(tilt)
        ys = head.cy + 0.05 * r + x * np.sin(tilt) + y * np.cos(tilt)
        draw.polygon(list(zip(xs, ys)), fill=head.shade)


def _draw_forehead_stripes(draw, head: _Head) -> None:
    r, width = head.r, max(1, int(head.r * 0.06))
    for dx in (-0.25, 0.0, 0.25):
        x = head.cx + (dx + head.yaw * 0.5) * r
        draw.line([(x, head.cy - 0.8 * r), (x + dx * 0.3 * r, head.cy - 0.42 * r)], fill=head.shade, width=width)


def _draw_muzzle(draw, rng, head: _Head, muzzle: bool) -> float:
    """A dog-like muzzle, or (sometimes) cat-like whisker pads; return the nose height."""
    r, fx = head.r, head.face_x
    if muzzle:
        muzzle_y = head.cy + rng.uniform(0.38, 0.5) * r
        _ellipse(draw, fx, muzzle_y, rng.uniform(0.38, 0.5) * r, rng.uniform(0.3, 0.4) * r, head.light)
        if rng.random() < 0.3:
            _ellipse(draw, fx, muzzle_y + 0.28 * r, 0.11 * r, 0.15 * r, _jitter(rng, (225, 110, 120)))  # tongue
        return muzzle_y - 0.18 * r
    if rng.random() < 0.4:
        for side in (-1, 1):
            _ellipse(draw, fx + side * 0.16 * r, head.cy + 0.38 * r, 0.2 * r, 0.16 * r, head.light)
    return head.cy + 0.22 * r


def _draw_eyes(draw, rng, head: _Head, slit: bool) -> None:
    r = head.r
    iris_choices = [(120, 190, 60), (215, 185, 40), (200, 130, 40), (110, 170, 210)]
    iris = _jitter(rng, iris_choices[int(rng.integers(len(iris_choices)))])
    dark = _jitter(rng, (60, 35, 20), 15)
    for side in (-1, 1):
        ex, ey = head.face_x + side * 0.37 * r, head.cy - 0.12 * r
        if slit:
            _ellipse(draw, ex, ey, 0.2 * r, 0.14 * r, iris)
            _ellipse(draw, ex, ey, 0.045 * r, 0.12 * r, (15, 15, 15))
        else:
            _ellipse(draw, ex, ey, 0.1 * r, 0.1 * r, dark)
            _ellipse(draw, ex - 0.03 * r, ey - 0.03 * r, 0.03 * r, 0.03 * r, (240, 240, 240))


def _draw_nose_and_mouth(draw, rng, head: _Head, nose_y: float, pink: bool) -> None:
    r, fx = head.r, head.face_x
    if pink:
        size = rng.uniform(0.07, 0.11) * r
        pink = _jitter(rng, (215, 120, 130))
        draw.polygon([(fx - size, nose_y), (fx + size, nose_y), (fx, nose_y + size)], fill=pink)
        bottom = nose_y + size
    else:
        _ellipse(draw, fx, nose_y, rng.uniform(0.12, 0.2) * r, rng.uniform(0.08, 0.12) * r, (20, 18, 18))
        bottom = nose_y + 0.1 * r
    for side in (-1, 1):
        mouth_end = (fx + side * 0.12 * r, bottom + 0.12 * r)
        draw.line([(fx, bottom), mouth_end], fill=(40, 30, 30), width=head.line_width)


def _draw_whiskers(draw, rng, head: _Head) -> None:
    r, length = head.r, rng.uniform(0.8, 1.3)
    colour = _jitter(rng, (225, 225, 220), 25)
    for side in (-1, 1):
        for k in range(3):
            start = (head.face_x + side * 0.22 * r, head.cy + (0.36 + 0.05 * k) * r)
            end = (start[0] + side * length * r, start[1] + (-0.15 + 0.15 * k) * r)
            draw.line([start, end], fill=colour, width=head.line_width)


def _draw_head(draw, rng, head: _Head, traits: dict[str, bool]) -> None:
    if traits["pointed_ears"]:
        _draw_pointed_ears(draw, rng, head)
    wide = traits["wide_head"]
    _ellipse(draw, head.cx, head.cy, (1.05 if wide else 0.92) * head.r, (0.9 if wide else 1.04) * head.r, head.fur)
    if not traits["pointed_ears"]:  # floppy ears hang over the sides of the head
        _draw_floppy_ears(draw, rng, head)
    if rng.random() < 0.35:
        _draw_forehead_stripes(draw, head)
    nose_y = _draw_muzzle(draw, rng, head, muzzle=not traits["no_muzzle"])
    _draw_eyes(draw, rng, head, slit=traits["slit_eyes"])
    _draw_nose_and_mouth(draw, rng, head, nose_y, pink=traits["pink_nose"])
    if traits["whiskers"]:
        _draw_whiskers(draw, rng, head)


def _photo_finish(rng, image: Image.Image) -> Image.Image:
    """Camera-like imperfections: blur, exposure, contrast, sensor noise."""
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.0)))
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.75, 1.2))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.75, 1.2))
    noise = rng.normal(0.0, rng.uniform(2.0, 8.0), (image.height, image.width, 3))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8))


def draw_standin(label: int, number: int, *, seed: int = _STANDIN_SEED,
                 pose: Pose = STANDIN_POSE) -> Image.Image:
    """Draw stand-in number ``number`` of class ``label`` (0 = cat, 1 = dog).

    ``seed`` (a non-negative integer) picks another family of drawings: the grader draws
    its held-out stand-ins from a seed of its own; the course's stand-ins use the default.
    ``pose``: the range of head sizes and turns (the stand-in base's source task has its own).
    """
    return _draw_standin_and_head(label, number, seed=seed, pose=pose)[0]


@dataclass(frozen=True)
class StandinHead:
    """Where the head of a stand-in drawing is, in the pixels of the drawn image.

    ``cx``, ``cy``: the centre of the head (x from the left, y from the top, in pixels), after the
    mirroring that half of the drawings get; ``r``: the head's radius (the face ellipse spans about
    0.9 to 1.05 ``r`` either way, the ears reach beyond); ``width``, ``height``: the image's size;
    ``mirrored``: whether the drawing was mirrored left to right.
    """

    cx: float
    cy: float
    r: float
    width: int
    height: int
    mirrored: bool


def standin_with_head(label: int, number: int, *, seed: int = _STANDIN_SEED) -> tuple[Image.Image, StandinHead]:
    """Stand-in number ``number`` of class ``label`` (0 = cat, 1 = dog) and where its head is.

    The image is the one the embedded profile's files hold (``PetImages/Cat/<number>.jpg`` before
    JPEG compression; the subsets' ``cat.<number>.jpg``); the head is where the features that tell
    a cat from a dog are drawn (ears, eyes, muzzle, nose, whiskers). The animal is rotated about the
    head's centre, so the centre does not move. ``seed`` as in the grader's held-out drawings.
    """
    return _draw_standin_and_head(label, number, seed=seed)


def _draw_standin_and_head(label: int, number: int, *, seed: int = _STANDIN_SEED,
                           pose: Pose = STANDIN_POSE) -> tuple[Image.Image, StandinHead]:
    rng = np.random.default_rng([seed, label, number])
    width, height = int(rng.integers(160, 241)), int(rng.integers(140, 211))
    canvas = _background(rng, width, height)
    fur = _jitter(rng, _FUR_COLOURS[int(rng.integers(len(_FUR_COLOURS)))])
    head = _Head(
        cx=rng.uniform(0.25, 0.75) * width,
        cy=rng.uniform(0.3, 0.62) * height,
        r=rng.uniform(*pose.head_radius) * min(width, height),
        fur=fur,
        shade=_mix(fur, (20, 15, 10), rng.uniform(0.25, 0.5)),
        light=_mix(fur, (245, 238, 225), rng.uniform(0.35, 0.7)),
        yaw=rng.uniform(-0.2, 0.2),
    )
    animal = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(animal)
    _draw_body(draw, rng, head)
    _draw_head(draw, rng, head, _traits(rng, label))
    turn = rng.uniform(-pose.max_turn, pose.max_turn)
    animal = animal.rotate(turn, resample=Image.Resampling.BILINEAR, center=(head.cx, head.cy))
    canvas.alpha_composite(animal)
    image = canvas.convert("RGB")
    mirrored = bool(rng.random() < 0.5)
    if mirrored:
        image = ImageOps.mirror(image)
    where = StandinHead(cx=width - head.cx if mirrored else head.cx, cy=head.cy, r=head.r, width=width,
                        height=height, mirrored=mirrored)
    return _photo_finish(rng, image), where
