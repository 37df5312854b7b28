"""nbgrader configuration for the course. The repository root is a course directory:
`nbgrader generate_assignment <id>` turns solutions/<id> into the student release in
assignments/<id>. The demo class (`make demo`) uses its own course directory, build/demo,
whose config loads this file.
"""

import os
import sys

REPO_ROOT = os.path.dirname(os.path.abspath(__file__))
if REPO_ROOT not in sys.path:  # so nbgrader can import the autograder's preprocessor
    sys.path.insert(0, REPO_ROOT)

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"

# Student code never runs in the grader's account: nbgrader's Execute step is replaced by
# the sandboxed hidden checks, whose scores land in each notebook's check cells.
c.Autograde.autograde_preprocessors = [
    "autograder.nbgrader_plugin.HiddenChecks",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# A trained model (*.keras) that running a source notebook leaves in solutions/<id>/ is the
# instructor's: never copy it into the student release, nor over a student's handed-in model
# when autograding. (The defaults, plus *.keras.)
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.keras"]

# The release's first cell installs the students' helpers on Colab, from pyproject.toml's
# [project.urls] Repository (autograder/release.py).
from nbgrader.converters import GenerateAssignment  # noqa: E402

from autograder.release import ColabInstallCell  # noqa: E402

c.GenerateAssignment.preprocessors = [
    ColabInstallCell, *GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default()]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
