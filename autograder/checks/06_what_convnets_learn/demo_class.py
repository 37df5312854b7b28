"""The demo class for assignment 06 (``make demo``, tests/test_demo_what_convnets_learn.py).

ada is complete and correct; brook makes three typical mistakes (the heatmap's ReLU forgotten,
applyColorMap's BGR left as it is, uint8 without clipping); casey breaks the rules and attacks the
grader in four functions and leaves the rest correct, so that the containment shows; drew never
started. Nothing is handed in besides the notebook.
"""

from autograder.demo import _catalogue, _mutant
from autograder.submissions import build_submission

ASSIGNMENT = "06_what_convnets_learn"

ATTACKS = {
    "activation_model": '''
def activation_model(model, layer_names):
    # A model that carries Python code (a Lambda layer): safe mode refuses to load it for grading.
    return keras.Sequential([keras.Input(shape=model.inputs[0].shape[1:]), keras.layers.Lambda(lambda x: x * 1.0)])
''',
    "gradient_ascent_step": '''
import os


def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    os._exit(0)  # take the grader down with it?
''',
    "generate_filter_pattern": '''
def generate_filter_pattern(feature_extractor, filter_index, start_image, iterations=30, learning_rate=10.0):
    while True:  # never returns
        pass
''',
    "make_gradcam_heatmap": '''
import os


def make_gradcam_heatmap(image_batch, model, last_conv_layer_name, classifier_layer_names, pred_index=None):
    # Go looking for the instructor's notebook and hidden checks, to copy the answer from them.
    for root in ("/work", "/srv", "/home", "/root", "/tmp", os.path.expanduser("~")):
        for folder, subfolders, files in os.walk(root):
            if folder.count(os.sep) > 6:
                subfolders[:] = []
            for name in files:
                if name == "what_convnets_learn.ipynb" and "solutions" in folder or name == "test_gradcam.py":
                    raise RuntimeError(open(os.path.join(folder, name)).read()[:2000])
    raise FileNotFoundError("could not find the instructor's files")
''',
}

MISTAKES = {  # target -> mutant name in tests/mutants/what_convnets_learn.py
    "make_gradcam_heatmap": "ReLU forgotten",
    "superimpose_heatmap": "applyColorMap's BGR not converted to RGB",
    "deprocess_image": "astype('uint8') without clipping (-5 wraps to 251)",
}


def students(folder=None):
    """The four demo students' notebooks (this assignment hands in nothing else)."""
    mutants = _catalogue("what_convnets_learn")
    mistakes = {target: _mutant(mutants, target, name) for target, name in MISTAKES.items()}
    return {
        "ada": build_submission(ASSIGNMENT),
        "brook": build_submission(ASSIGNMENT, mistakes, written=False),
        "casey": build_submission(ASSIGNMENT, ATTACKS, written=False),
        "drew": build_submission(ASSIGNMENT, started=False),
    }
