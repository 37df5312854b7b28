"""Spread the slow, independent tests over the xdist workers; keep everything else together.

`make test` runs tests/ with `--dist loadgroup`: a test module's module-scoped fixtures (a graded
demo class) should be built once, so each test module is a group, except the modules in SPREAD,
whose tests (one grading each) are independent and make up most of the run. Each demo module
builds a demo course of its own (tests/conftest.py::demo_course), so the demo courses of the
different assignments are built side by side on the workers. (The solution
notebooks run in a separate nbval session beside this one: see the Makefile.)
"""

import pytest

SPREAD = {"tests/test_mutants.py"}


def pytest_itemcollected(item):
    # Marked as each item is collected, before pytest-xdist reads the groups (in its
    # pytest_collection_modifyitems). tests/test_test_layout.py checks that they hold.
    path = item.nodeid.split("::")[0]
    if path not in SPREAD:
        item.add_marker(pytest.mark.xdist_group(path))
