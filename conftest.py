"""Spread the slow, independent tests over the xdist workers; keep everything else together.

`make test` runs with `--dist loadgroup`: a solution notebook's cells must share one kernel
(nbval), and a test module's module-scoped fixtures (a graded demo class) should be built once,
so each notebook and each test module is a group, except the modules listed in SPREAD, whose
tests (one grading each) are independent and make up most of the run.
"""

import pytest

SPREAD = {"tests/test_mutants.py"}


def pytest_collection_modifyitems(items):
    for item in items:
        path = item.nodeid.split("::")[0]
        if path not in SPREAD:
            item.add_marker(pytest.mark.xdist_group(path))
