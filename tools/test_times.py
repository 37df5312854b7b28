"""Where `make test`'s time went: seconds per test module, from the JUnit reports it writes.

    python tools/test_times.py build/tests.xml build/nbval.xml

Each test's time is its setup, call and teardown (pytest's junit_duration_report=total), so a
module-scoped fixture (a demo course) counts in the first test that uses it.
"""

from __future__ import annotations

import collections
import sys
import xml.etree.ElementTree as ElementTree


def module_seconds(report_path: str) -> collections.Counter:
    totals: collections.Counter = collections.Counter()
    for case in ElementTree.parse(report_path).iter("testcase"):
        module = case.get("file") or case.get("classname", "?").replace(".", "/")
        totals[module] += float(case.get("time") or 0.0)
    return totals


def main(paths: list[str]) -> int:
    for path in paths:
        try:
            totals = module_seconds(path)
        except (OSError, ElementTree.ParseError) as error:
            print(f"{path}: no report ({error}); run make test first")
            continue
        print(f"{path}: {sum(totals.values()):.0f} s in all (summed over workers)")
        for module, seconds in totals.most_common():
            print(f"  {seconds:8.1f} s  {module}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:] or ["build/tests.xml", "build/nbval.xml"]))
