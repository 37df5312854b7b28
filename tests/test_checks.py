"""cnn_course.checks: what a failed comparison tells the student, in the public checks and, through
autograder.harness (expect_exact, expect_array), in the hidden checks alike."""

import numpy as np
import pytest

from autograder import harness
from cnn_course import checks
from cnn_course.checks import CheckFailed, compare_arrays, compare_exact, first_difference

MNIST_ROWS = [((26, 26, 32), 320), ((13, 13, 32), 0), ((11, 11, 64), 18_496), ((5, 5, 64), 0),
              ((3, 3, 64), 36_928), ((576,), 0), ((64,), 36_928), ((10,), 650)]


def _failure(function, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as raised:
        function(*args, **kwargs)
    return str(raised.value)


def test_one_wrong_element_of_a_list_of_layers_is_named_with_its_index_and_both_values():
    got = list(MNIST_ROWS)
    got[6] = ((64,), 36_992)
    message = _failure(compare_exact, "summary", got, MNIST_ROWS)
    assert "item [6]" in message and "((64,), 36928)" in message and "((64,), 36992)" in message
    assert "[6][1]: expected 36928, got 36992" in message
    assert "(26, 26, 32)" not in message  # the rows that agree are not repeated


def test_a_difference_at_the_end_of_a_long_sequence_is_not_cut_off():
    expected = list(range(200))
    got = expected[:190] + [-1] + expected[191:]
    message = _failure(compare_exact, "long", got, expected)
    assert "item [190]: expected 190, got -1" in message
    long_expected, long_got = "x" * 300 + "a", "x" * 300 + "b"
    message = _failure(compare_exact, "text", long_got, long_expected)
    assert "character 300" in message and "a'" in message and "b'" in message


@pytest.mark.parametrize("got,expected,words", [
    (MNIST_ROWS[:7], MNIST_ROWS, ["expected 8 items, got 7", "item [7] is missing", "((10,), 650)"]),
    (MNIST_ROWS + [((1,), 2)], MNIST_ROWS, ["expected 8 items, got 9", "item [8] is extra", "((1,), 2)"]),
    ([((26, 26), 320)] + MNIST_ROWS[1:], MNIST_ROWS,
     ["item [0]", "at [0][0]: expected (26, 26, 32), got (26, 26)"]),
    (5, [1, 2], ["expected a list of 2 items, got an int: 5"]),
    (("conv2d_1", (28, 28, 32), 320.5), ("conv2d_1", (28, 28, 32), 320), ["item [2]: expected 320, got 320.5"]),
])
def test_sequences_of_other_lengths_and_shapes(got, expected, words):
    message = _failure(compare_exact, "label", got, expected)
    assert message.startswith("label: ")
    for word in words:
        assert word in message, message


def test_first_difference():
    assert first_difference([1, (2, 3)], [1, (2, 3)]) is None
    assert first_difference([1, (2, 4)], [1, (2, 3)]) == ((1, 1), 4, 3)
    assert first_difference(np.int64(3), 3) is None
    assert first_difference(3.0, 3) is None and first_difference(3.5, 3) == ((), 3.5, 3)


def test_arrays_name_the_first_and_the_worst_element():
    expected = np.arange(12.0).reshape(3, 4)
    got = expected.copy()
    got[0, 3] += 0.5
    got[2, 1] += 10
    message = _failure(compare_arrays, "conv", got, expected, rtol=0, atol=1e-9)
    assert "2 of 12 values differ" in message
    assert "First at index (0, 3): expected 3, got 3.5" in message
    assert "worst at index (2, 1): expected 9, got 19" in message
    got = expected.copy()
    got[1, 1] = np.nan
    assert "First at index (1, 1): expected 5, got nan." in _failure(compare_arrays, "nan", got, expected)


def test_success_messages_are_unchanged():
    """Stored notebook outputs (compared by nbval) print these lines."""
    assert compare_exact("n", np.int64(26), 26) == "n: 26 (exact match)"
    assert compare_exact("rows", [[(1, 2), 3]], [((1, 2), 3)]) == "rows: [((1, 2), 3)] (exact match)"
    assert compare_arrays("a", np.zeros(3), [0, 0, 0]) == \
        "a: shape (3,), max |difference| 0 (|got - expected| <= 1e-08 + 1e-06*|expected|)"


def test_public_and_hidden_checks_give_the_same_message(capsys):
    got = list(MNIST_ROWS)
    got[3] = ((5, 5, 64), 1)
    public = _failure(checks.check_equal, "rows", got, MNIST_ROWS)
    hidden = _failure(harness.expect_exact, "rows", got, MNIST_ROWS)
    assert public == hidden and "item [3]" in hidden
    array_public = _failure(checks.check_array, "x", [1.0, 2.0], [1.0, 3.0])
    array_hidden = _failure(harness.expect_array, "x", [1.0, 2.0], [1.0, 3.0], rtol=1e-6, atol=1e-8)
    assert array_public == array_hidden and "First at index (1,)" in array_hidden
    harness.take_notes()


def test_unhandled_expected_types_still_raise_type_error():
    with pytest.raises(TypeError):
        compare_exact("set", {1}, {1})


def test_a_float_equals_an_int_only_if_it_is_exactly_that_int():
    count = 99_999 * 4095 * 221 * 221 * 9 * 2047  # more than 53 bits: no float holds it
    assert compare_exact("n", count, count).endswith("(exact match)")
    assert compare_exact("n", float(2**52), 2**52).endswith("(exact match)")
    assert "expected 368463491086742415, got 3.684634910867424e+17" in _failure(compare_exact, "n", float(count), count)


def _sanitized(text: str) -> str:
    """tests/nbval_sanitize.cfg applied with nbval's own parser, in file order, as nbval applies it."""
    import re
    from pathlib import Path

    from nbval.plugin import get_sanitize_patterns
    for regex, replace in get_sanitize_patterns(Path(__file__).with_name("nbval_sanitize.cfg").read_text()):
        text = re.sub(regex, replace, text)
    return text


def test_nbval_ignores_the_rounding_noise_of_a_passing_array_check_but_not_the_verdict():
    expected = np.full((2, 2), 4.86)
    runs = [compare_arrays("c2", expected + noise, expected, rtol=1e-5, atol=1e-5) for noise in (0.0, 8.2e-7, 1.3e-7)]
    assert len({_sanitized(run) for run in runs}) == 1, runs
    assert "(|got - expected| <= 1e-05 + 1e-05*|expected|)" in _sanitized(runs[0])
    other_tolerance = compare_arrays("c2", expected, expected, rtol=1e-4, atol=1e-5)
    assert _sanitized(other_tolerance) != _sanitized(runs[0])
    assert _sanitized("PASS " + runs[0]) != _sanitized("FAIL " + runs[0])
