"""Helpers for the CNN course notebooks: public checks, data loading and plotting.

Students install this package with the course environment (or ``pip install`` it in
Colab). It holds nothing secret: the grader's hidden checks live in ``autograder/``.
"""

__version__ = "0.1.0"
