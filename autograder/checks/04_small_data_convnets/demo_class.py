"""The demo class for assignment 04 (``make demo``, tests/test_demo_dogs_vs_cats.py).

ada is complete and correct and hands in both trained models; brook makes typical mistakes, in
code and in one handed-in file; casey breaks the rules and attacks the grader in four functions
and in one file, and leaves the rest correct, so that the containment shows; drew never started
and hands in nothing. The model files come from the mutant catalogue's cache
(tests/mutants/dogs_vs_cats.py: trained once with the reference code, then reused).
"""

import shutil
from pathlib import Path

from autograder.demo import _catalogue, _mutant
from autograder.submissions import build_submission

ASSIGNMENT = "04_small_data_convnets"

ATTACKS = {
    "make_subset": '''
def make_subset(source_dir, target_dir, subset_name, start_index, end_index):
    # Write outside the folder it was asked to fill, then delete the folder it was given to read.
    # (Kept harmless on purpose: on a machine without isolation this would run as the grader's user.)
    (pathlib.Path(target_dir).parent / "escaped.txt").write_text("written by make_subset")
    shutil.rmtree(source_dir, ignore_errors=True)
    return {"cats": end_index - start_index, "dogs": end_index - start_index}
''',
    "smooth_curve": '''
import os


def smooth_curve(points, factor=0.8):
    os._exit(0)  # take the grader down with it?
''',
    "make_augmentation": '''
def make_augmentation():
    while True:  # never returns
        pass
''',
    "build_convnet_from_scratch": '''
import os


def build_convnet_from_scratch():
    # Go looking for the instructor's notebook and hidden checks, to copy the model from them.
    for root in ("/work", "/srv", "/home", "/root", "/tmp", os.path.expanduser("~")):
        for folder, subfolders, files in os.walk(root):
            if folder.count(os.sep) > 6:
                subfolders[:] = []
            for name in files:
                if name == "small_data_convnets.ipynb" and "solutions" in folder or name == "test_models.py":
                    raise RuntimeError(open(os.path.join(folder, name)).read()[:2000])
    raise FileNotFoundError("could not find the instructor's files")
''',
}

MISTAKES = {  # target -> mutant name in tests/mutants/dogs_vs_cats.py
    "make_subset": "copies end_index too (off by one)",
    "make_augmentation": "flips upside down",
    "build_convnet_with_augmentation": "puts Dropout after the Dense head",
}

FILES = {  # student -> {handed-in file name: file kind of the catalogue's model_file}
    "ada": {"convnet_from_scratch.keras": "from_scratch", "convnet_with_augmentation.keras": "with_augmentation"},
    # brook divided the images by 255 in the data pipeline and left the Rescaling layer out
    "brook": {"convnet_from_scratch.keras": "rescaled_outside", "convnet_with_augmentation.keras": "with_augmentation"},
    # casey's second model runs Python code from a Lambda layer, which safe mode refuses to load
    "casey": {"convnet_from_scratch.keras": "from_scratch", "convnet_with_augmentation.keras": "lambda_layer"},
    "drew": {},
}


def hand_in(folder: Path, student: str) -> None:
    """Put ``student``'s files into ``folder`` (next to where their notebook goes)."""
    catalogue = _catalogue("dogs_vs_cats")
    folder.mkdir(parents=True, exist_ok=True)
    for name, kind in FILES[student].items():
        shutil.copy(catalogue.model_file(kind), folder / name)


def students(folder=None):
    """The four demo students' notebooks; their handed-in files go to ``folder/<student>/``."""
    mutants = _catalogue("dogs_vs_cats")
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
