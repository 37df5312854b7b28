"""The demo class for assignment 05 (``make demo``, tests/test_demo_vgg16.py).

ada is complete and correct and hands in both trained models; brook makes the typical mistakes
(images divided by 255 before preprocess_input, trainable flags changed without a new compile(), a
classifier trained on the features of images divided by 255); casey breaks the rules and attacks the
grader in three functions and in one file, and leaves the rest correct, so that the containment
shows; drew never started and hands in nothing. The model files come from the mutant catalogue's
cache (tests/mutants/transfer_learning_vgg16.py: trained once with the reference code, then reused).
"""

import shutil
from pathlib import Path

from autograder.demo import _catalogue, _mutant
from autograder.submissions import build_submission

ASSIGNMENT = "05_transfer_learning_vgg16"

ATTACKS = {
    "extract_features": '''
import os


def extract_features(conv_base, dataset):
    os._exit(0)  # take the grader down with it?
''',
    "build_feature_classifier": '''
import os


def build_feature_classifier(feature_shape):
    # Go looking for the instructor's notebook and hidden checks, to copy the model from them.
    for root in ("/work", "/srv", "/home", "/root", "/tmp", os.path.expanduser("~")):
        for folder, subfolders, files in os.walk(root):
            if folder.count(os.sep) > 6:
                subfolders[:] = []
            for name in files:
                if name == "transfer_learning_vgg16.ipynb" and "solutions" in folder or name == "test_models.py":
                    raise RuntimeError(open(os.path.join(folder, name)).read()[:2000])
    raise FileNotFoundError("could not find the instructor's files")
''',
    "prepare_fine_tuning": '''
def prepare_fine_tuning(model, conv_base, first_trainable="block5_conv1", learning_rate=1e-5):
    # Set the flags, skip the compile() and make the grader's training step report "no change at all"
    # by replacing it in this process (the grader repeats the step from the saved file elsewhere).
    import inspectors
    conv_base.trainable = True
    for layer in conv_base.layers:
        layer.trainable = layer.name.startswith("block5")
    model.optimizer.learning_rate = learning_rate

    def no_step(model, images, labels):
        return {"saved": inspectors.keras_file_bytes(model), "after": model.get_weights()}

    inspectors.one_training_step = no_step
    inspectors.INSPECTORS["one_training_step"] = no_step
    return model
''',
}

MISTAKES = {  # target -> mutant name in tests/mutants/transfer_learning_vgg16.py
    "extract_features": "divides by 255 before preprocess_input (Rescaling habit)",
    "prepare_fine_tuning": "sets the learning rate on the old optimizer instead of recompiling",
}

FILES = {  # student -> {handed-in file name: file kind of the catalogue's model_file}
    "ada": {"feature_extraction.keras": "feature_extraction", "fine_tuning.keras": "fine_tuning"},
    # brook extracted the features of images divided by 255, and trained the classifier on them
    "brook": {"feature_extraction.keras": "divided_by_255", "fine_tuning.keras": "fine_tuning"},
    # casey's classifier runs Python code from a Lambda layer, which safe mode refuses to load
    "casey": {"feature_extraction.keras": "classifier_lambda", "fine_tuning.keras": "fine_tuning"},
    "drew": {},
}


def hand_in(folder: Path, student: str) -> None:
    """Put ``student``'s files into ``folder`` (next to where their notebook goes)."""
    catalogue = _catalogue("transfer_learning_vgg16")
    folder.mkdir(parents=True, exist_ok=True)
    for name, kind in FILES[student].items():
        shutil.copy(catalogue.model_file(kind), folder / name)


def students(folder=None):
    """The four demo students' notebooks; their handed-in files go to ``folder/<student>/``."""
    mutants = _catalogue("transfer_learning_vgg16")
    mistakes = {target: _mutant(mutants, target, name) for target, name in MISTAKES.items()}
    notebooks = {
        "ada": build_submission(ASSIGNMENT),
        "brook": build_submission(ASSIGNMENT, mistakes, written=False),
        "casey": build_submission(ASSIGNMENT, ATTACKS, written=False),
        "drew": build_submission(ASSIGNMENT, started=False),
    }
    if folder is not None:
        for student in notebooks:
            hand_in(Path(folder) / student, student)
    return notebooks
