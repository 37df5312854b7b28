"""The demo class for assignment 02 (``make demo``, tests/test_demo.py).

ada is complete and correct; brook makes typical mistakes from the mutant catalogue; casey
breaks the rules and attacks the grader in four functions and leaves the other two correct, so
that the containment shows; drew never started.
"""

from autograder.demo import _catalogue, _mutant
from autograder.submissions import build_submission

ASSIGNMENT = "02_shapes_params_cost"

ATTACKS = {
    "conv_output_length": '''
import keras


def conv_output_length(input_length, kernel_size, stride=1, padding="valid", dilation=1):
    # Let Keras work out the shape instead of computing it.
    layer = keras.layers.Conv1D(1, kernel_size, strides=stride, padding=padding, dilation_rate=dilation)
    return layer.compute_output_shape((None, input_length, 1))[1]
''',
    "pool_output_length": '''
import os


def pool_output_length(input_length, pool_size, stride=None, padding="valid"):
    os._exit(0)  # take the grader down with it?
''',
    "conv2d_param_count": '''
def conv2d_param_count(in_channels, filters, kernel_size, use_bias=True):
    count = 0
    while True:  # never returns
        count += 1
''',
    "summarize_stack": '''
import numpy as np

# If the checks ran in this process, these would make every comparison pass.
try:
    import cnn_course.checks
    cnn_course.checks.compare_exact = lambda label, got, expected: f"{label}: ok"
except ImportError:
    pass
np.array_equal = lambda *args, **kwargs: True


class Agreeable(tuple):
    """A tuple that claims to equal anything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = tuple.__hash__


def summarize_stack(input_shape, layers):
    return [Agreeable((Agreeable(), 0)) for _ in layers]
''',
}

MISTAKES = {  # target -> mutant name in tests/mutants/shapes_params_cost.py
    "conv_output_length": "'same' ignores the stride",
    "pool_output_length": "stride defaults to 1",
    "conv2d_param_count": "forgets the input channels",
    "corrected_same_table": "keeps the lecture's total 93,322",
}


def students(folder=None):
    """The four demo students' notebooks (nothing is handed in besides the notebook)."""
    mutants = _catalogue("shapes_params_cost")
    mistakes = {target: _mutant(mutants, target, name) for target, name in MISTAKES.items()}
    return {
        "ada": build_submission(ASSIGNMENT),
        "brook": build_submission(ASSIGNMENT, mistakes, written=False),
        "casey": build_submission(ASSIGNMENT, ATTACKS, written=False),
        "drew": build_submission(ASSIGNMENT, started=False),
    }
