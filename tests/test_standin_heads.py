"""cnn_course.data.standin_with_head: the stand-in drawings with where their heads are (assignment 06's
pointing game). Adding it must not change a pixel of the drawings that every other assignment and the
grader's held-out images depend on."""

import hashlib

import numpy as np

from cnn_course import data
from cnn_course.data import drawings

# sha256 of the drawings below (STANDIN_VERSION "4"); standin_with_head must not change them.
DRAWINGS_BEFORE = "b505d0007dfc013fffe6f99d4e4b5c8edfdf5abd14e7fc9f7923d381cd5d0b6e"


def test_the_drawings_are_unchanged():
    digest = hashlib.sha256()
    for label in (0, 1):
        for number in list(range(40)) + [500, 1234]:
            digest.update(np.asarray(drawings.draw_standin(label, number)).tobytes())
            digest.update(np.asarray(drawings.draw_standin(label, number, seed=77)).tobytes())
    assert digest.hexdigest() == DRAWINGS_BEFORE
    assert data.STANDIN_VERSION == "4"


def test_standin_with_head_returns_the_same_image_and_a_head_inside_it():
    mirrored = set()
    for label in (0, 1):
        for number in range(12):
            image, head = data.standin_with_head(label, number)
            assert np.array_equal(np.asarray(image), np.asarray(drawings.draw_standin(label, number)))
            assert (head.width, head.height) == image.size
            assert 0 < head.cx < head.width and 0 < head.cy < head.height
            smallest, largest = drawings.STANDIN_POSE.head_radius
            assert smallest * min(image.size) - 1e-9 <= head.r <= largest * min(image.size) + 1e-9
            mirrored.add(head.mirrored)
    assert mirrored == {True, False}  # both kinds occur, so the mirrored centre is tested

