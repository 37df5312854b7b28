"""The test run's layout does what conftest.py says: with `--dist loadgroup`, each module's tests
run in one worker, so its module-scoped fixtures (a demo course) are built once (pytest 9.2 with pytest-xdist 3.8
silently ignored every group: pytest-xdist issue #1386)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = '''
def test_{name}():
    import os, time
    time.sleep(0.05)
    with open(os.path.join(os.environ["PROBE_DIR"], "{group}"), "a") as handle:
        handle.write(f"{{os.getpid()}}\\n")
'''


def _module(names, group):
    return "\n".join(PROBE.format(name=name, group=group) for name in names)


def test_loadgroup_keeps_each_module_on_one_worker(tmp_path):
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    shutil.copy(REPO / "conftest.py", project / "conftest.py")
    modules = ("test_demo", "test_demo_mnist", "test_demo_dogs_vs_cats")
    for module in modules:
        (project / "tests" / f"{module}.py").write_text(_module([f"{module}_{i}" for i in range(4)], module))
    (project / "tests" / "test_mutants.py").write_text(_module([f"mutant_{i}" for i in range(12)], "spread"))
    # (how xdist shares test_mutants.py out depends on timing; only the groups are guaranteed)
    run = subprocess.run([sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider",
                          "tests"], cwd=project, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PROBE_DIR": str(tmp_path)})
    assert run.returncode == 0, run.stdout + run.stderr
    for module in modules:
        workers = set((tmp_path / module).read_text().split())
        assert len(workers) == 1, f"{module}'s tests ran in {len(workers)} workers"
    spread = set((tmp_path / "spread").read_text().split())
    assert spread, "test_mutants.py did not run"


def test_long_groups_are_handed_out_first_and_mutants_last():
    import importlib.util
    spec = importlib.util.spec_from_file_location("root_conftest", REPO / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    scheduling_rank = root_conftest.scheduling_rank
    paths = ["tests/test_mutants.py", "tests/test_cli.py", "tests/test_demo_mnist.py", "tests/test_trained_models.py",
             "tests/test_attacks_keras.py", "tests/test_attacks.py"]
    ordered = sorted(paths, key=scheduling_rank)
    assert ordered == ["tests/test_demo_mnist.py", "tests/test_trained_models.py", "tests/test_attacks_keras.py",
                       "tests/test_cli.py", "tests/test_attacks.py", "tests/test_mutants.py"]


def test_test_times_sums_each_modules_tests(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location("test_times", REPO / "tools" / "test_times.py")
    test_times = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(test_times)
    report = tmp_path / "report.xml"
    report.write_text('<testsuites><testsuite>'
                      '<testcase classname="tests.test_demo" name="a" time="2.5"/>'
                      '<testcase classname="tests.test_demo" name="b" time="1.0"/>'
                      '<testcase classname="tests.test_cli" name="c" time="0.5"/>'
                      '</testsuite></testsuites>')
    assert test_times.module_seconds(str(report)) == {"tests/test_demo": 3.5, "tests/test_cli": 0.5}
