"""Spread the slow, independent tests over the xdist workers; keep everything else together.

`make test` runs tests/ with `--dist loadgroup`: a test module's module-scoped fixtures (a graded
demo class) should be built once, so each test module is a group, except the modules in SPREAD,
whose tests (one grading each) are independent and make up most of the run. Each demo module
builds a demo course of its own (tests/conftest.py::demo_course), so the demo courses of the
different assignments are built side by side on the workers. (The solution
notebooks run in a separate nbval session beside this one: see the Makefile.)
"""

import fnmatch

import pytest

SPREAD = {"tests/test_mutants.py"}
# Groups that take minutes each (a demo course, trained files, a cluster) are handed out first, and
# the many short mutant gradings last, where they fill the workers' tails: xdist hands out groups in
# collection order, so one long group collected last would run alone at the end.
LONG_FIRST = ("tests/test_demo*.py", "tests/test_attacks_keras.py", "tests/test_trained_*.py",
              "tests/test_class_grading.py")


def scheduling_rank(path: str) -> int:
    if any(fnmatch.fnmatch(path, pattern) for pattern in LONG_FIRST):
        return 0
    return 2 if path in SPREAD else 1


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: scheduling_rank(item.nodeid.split("::")[0]))  # stable: order kept within a rank


def pytest_itemcollected(item):
    # Marked as each item is collected, before pytest-xdist reads the groups (in its
    # pytest_collection_modifyitems). tests/test_test_layout.py checks that they hold.
    path = item.nodeid.split("::")[0]
    if path not in SPREAD:
        item.add_marker(pytest.mark.xdist_group(path))
