"""The sandbox holds: no network, no secrets, limits, output caps, no processes left
behind, and one function's crash or hang costs that call only."""

import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.sandbox import launcher
from autograder.sandbox.launcher import Limits, SandboxConfig
from autograder.sandbox.session import StudentSession

REPO = Path(__file__).resolve().parents[1]
SECRET_NOTEBOOK = next((REPO / "solutions").glob("*/*.ipynb"))
SECRET_CHECK = next((REPO / "autograder" / "checks").glob("*/test_*.py"))

strict_only = pytest.mark.skipif(launcher.available_isolation() == "none",
                                 reason="this machine allows no namespaces")


def session(cells, tmp_path=None, **limits):
    hidden = [REPO / "solutions", REPO / "autograder", REPO / ".git"]
    if tmp_path is not None:
        hidden.append(tmp_path)
    config = SandboxConfig(hidden_paths=hidden,
                           limits=Limits(**{"wall_seconds_per_call": 10, **limits}))
    return StudentSession([{"id": f"cell{i}", "source": s} for i, s in enumerate(cells)], config,
                          forbidden_modules=("scipy",))


def _processes_matching(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


@strict_only
def test_no_network_even_to_the_graders_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(5)
    port = server.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(_accept(server)), daemon=True).start()
    code = f'''
import socket
def connect():
    try:
        socket.create_connection(("127.0.0.1", {port}), timeout=3)
        return "connected"
    except OSError as error:
        return type(error).__name__
'''
    with session([code]) as s:
        outcome = s.call("connect")
    assert outcome.status == "ok" and outcome.value != "connected"
    time.sleep(0.5)
    assert accepted in ([], [None])


def _accept(server):
    try:
        return server.accept()
    except OSError:
        return None


@strict_only
@pytest.mark.parametrize("mode", ["detected", "userns"])
def test_secrets_are_hidden_and_the_repository_is_read_only(mode, tmp_path, monkeypatch):
    if mode == "userns":  # as a TA without root would run it (here: root inside a user namespace)
        monkeypatch.setenv("COURSE_SANDBOX", "userns")
    launcher.available_isolation.cache_clear()
    course_secret = tmp_path / "gradebook.db"
    course_secret.write_text("grades")
    code = f'''
import os
def probe():
    results = {{}}
    for path in {[str(SECRET_NOTEBOOK), str(SECRET_CHECK), str(course_secret)]!r}:
        try:
            results[path] = open(path).read()[:20]
        except OSError as error:
            results[path] = type(error).__name__
    try:
        results["listing"] = os.listdir({str(REPO / "solutions")!r})
    except OSError as error:
        results["listing"] = type(error).__name__
    try:
        open({str(REPO / "cnn_course" / "evil.py")!r}, "w").write("x")
        results["write"] = "written"
    except OSError as error:
        results["write"] = type(error).__name__
    return results
'''
    try:
        with session([code], tmp_path=tmp_path) as s:
            outcome = s.call("probe")
            assert mode == "detected" or s.isolation == "userns"
    finally:
        launcher.available_isolation.cache_clear()
    assert outcome.status == "ok", outcome
    results = outcome.value
    for path in (SECRET_NOTEBOOK, SECRET_CHECK, course_secret):
        assert results[str(path)] in ("PermissionError", "FileNotFoundError"), results
    assert results["listing"] in ("PermissionError", "FileNotFoundError", [])
    assert results["write"] != "written" and not (REPO / "cnn_course" / "evil.py").exists()


@strict_only
def test_only_the_system_and_python_are_visible(tmp_path):
    """A copy of the solutions anywhere else on the machine (another checkout, a TA's home)
    stays out of reach, even when its permissions would let anyone read it."""
    decoy = Path(f"/tmp/cnn-decoy-{os.getpid()}")
    (decoy / "solutions").mkdir(parents=True, exist_ok=True)
    (decoy / "solutions" / "answers.ipynb").write_text("the answers")
    os.chmod(decoy, 0o755)
    os.chmod(decoy / "solutions", 0o755)
    code = """
import os
def search():
    found = []
    for folder, subfolders, files in os.walk("/"):
        if folder.startswith(("/proc", "/sys", "/usr", "/lib")):
            subfolders[:] = []
        found += [os.path.join(folder, f) for f in files if f.endswith((".ipynb", ".db"))]
    return sorted(set(found) - {f for f in found if "site-packages" in f or "/share/" in f})
"""
    try:
        with session([code]) as s:
            outcome = s.call("search")
    finally:
        import shutil
        shutil.rmtree(decoy)
    assert outcome.status == "ok", outcome
    assert outcome.value == [], outcome.value


def test_hiding_a_folder_that_holds_the_python_environment_keeps_python(tmp_path):
    """The course directory can be the repository, with .venv inside it."""
    config = SandboxConfig(hidden_paths=[Path(sys.prefix).parent, REPO], limits=Limits(wall_seconds_per_call=10))
    with StudentSession([{"id": "c", "source": "def f():\n    return 7\n"}], config) as s:
        assert s.call("f").value == 7


def test_a_hang_costs_only_that_call():
    cells = ["def hang():\n    while True:\n        pass\n", "def fine(x):\n    return x + 1\n"]
    with session(cells, wall_seconds_per_call=2) as s:
        started = time.monotonic()
        assert s.call("hang").status == "timeout"
        assert time.monotonic() - started < 8
        assert s.call("fine", 1).value == 2


def test_exit_and_crash_cost_only_that_call():
    cells = ["import os, sys\ndef hard_exit():\n    os._exit(3)\ndef soft_exit():\n    sys.exit(1)\n",
             "def fine(x):\n    return x * 2\n"]
    with session(cells) as s:
        crashed = s.call("hard_exit")
        assert crashed.status == "crashed" and "status 3" in crashed.message
        assert s.call("soft_exit").status == "error"  # SystemExit is caught, the worker lives
        assert s.call("fine", 4).value == 8


def test_a_cell_that_kills_the_worker_at_load_is_skipped():
    cells = ["def before():\n    return 1\n", "import os\nos._exit(1)\n", "def after():\n    return 2\n"]
    with session(cells) as s:
        assert s.call("before").value == 1
        assert s.call("after").value == 2
        assert s.cell_reports["cell1"].status == "crashed"


def test_memory_limit():
    cells = ["import numpy as np\ndef hog():\n    return np.ones(2_000_000_000).sum()\n",
             "def fine():\n    return 5\n"]
    with session(cells, memory_bytes=1 << 30) as s:
        outcome = s.call("hog")
        assert outcome.status in ("error", "crashed") and "Memory" in (outcome.message + outcome.error_type)
        assert s.call("fine").value == 5


def test_cpu_limit_kills_a_busy_worker():
    cells = ["def spin():\n    while True:\n        pass\n", "def fine():\n    return 1\n"]
    with session(cells, cpu_seconds=2, wall_seconds_per_call=30) as s:
        started = time.monotonic()
        outcome = s.call("spin")
        assert outcome.status == "crashed"
        assert "SIGXCPU" in outcome.message or "SIGKILL" in outcome.message
        assert time.monotonic() - started < 20
        assert s.call("fine").value == 1


def test_output_is_captured_and_truncated():
    cells = ["import sys\ndef flood():\n    for _ in range(50_000):\n        print('x' * 99)\n"
             "    sys.stderr.write('e' * 300_000)\n    return 1\n"]
    with session(cells, output_bytes=10_000) as s:
        assert s.call("flood").value == 1
        s.close()
        stdout, stderr = s.output()
    assert len(stdout) < 11_000 and "5,000,000 bytes in all" in stdout
    assert "300,000 bytes in all" in stderr


@pytest.mark.parametrize("mode", ["detected", "none"])
def test_no_process_survives_grading(mode, monkeypatch):
    if mode == "none":
        monkeypatch.setenv("COURSE_SANDBOX", "none")
        launcher.available_isolation.cache_clear()
    marker = f"{os.getpid()}{mode}".replace("detected", "1").replace("none", "2")
    code = f'''
import os, subprocess
def spawn():
    subprocess.Popen(["sleep", "{marker}1"], start_new_session=True)
    subprocess.Popen(["sh", "-c", "sleep {marker}2 &"])
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "{marker}3"])
        os._exit(0)
    return "spawned"
'''
    try:
        with session([code]) as s:
            assert s.call("spawn").value == "spawned"
            time.sleep(0.5)
            assert _processes_matching(f"sleep\0{marker}")
            isolation = s.isolation
    finally:
        launcher.available_isolation.cache_clear()
    deadline = time.monotonic() + 5
    while _processes_matching(f"sleep\0{marker}") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _processes_matching(f"sleep\0{marker}"), f"processes left behind ({isolation})"


def test_values_cross_as_plain_data():
    code = '''
import numpy as np
class Liar(np.ndarray):
    def __eq__(self, other):
        return True
def liar():
    return np.arange(3).view(Liar)
class Thing:
    pass
def thing():
    return Thing()
def objects():
    return np.array([Thing()], dtype=object)
def nested():
    return {"a": (1, 2.5, None), "b": [np.float32(1.5), np.int64(7)], "c": "text"}
'''
    with session([code]) as s:
        value = s.call("liar").value
        assert type(value) is np.ndarray and list(value) == [0, 1, 2]
        assert s.call("thing").status == "unsendable"
        assert s.call("objects").status == "unsendable"
        assert s.call("nested").value == {"a": (1, 2.5, None), "b": [1.5, 7], "c": "text"}


def test_forbidden_library_fails_only_when_used():
    code = "from scipy import signal\nimport numpy as np\n" \
           "def uses():\n    return signal.correlate2d(np.ones((2, 2)), np.ones((1, 1)))\n" \
           "def does_not():\n    return 3\n"
    with session([code]) as s:
        assert s.call("does_not").value == 3
        outcome = s.call("uses")
        assert outcome.status == "forbidden" and outcome.library == "scipy.signal.correlate2d"


def test_isolation_is_reported_plainly_when_missing(monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX", "none")
    launcher.available_isolation.cache_clear()
    try:
        with session(["def f():\n    return 1\n"]) as s:
            assert s.call("f").value == 1
            assert "NOT ISOLATED" in s.isolation_note
    finally:
        launcher.available_isolation.cache_clear()


def test_unknown_isolation_setting_is_refused(monkeypatch):
    monkeypatch.setenv("COURSE_SANDBOX", "maybe")
    launcher.available_isolation.cache_clear()
    try:
        with pytest.raises(ValueError, match="COURSE_SANDBOX must be one of"):
            launcher.available_isolation()
    finally:
        launcher.available_isolation.cache_clear()


def test_arguments_modified_in_place_are_reported():
    code = "def scale(x):\n    x *= 2\n    return x\ndef pure(x):\n    return x * 2\n"
    with session([code]) as s:
        assert s.call("scale", np.ones(3)).modified_arguments == [0]
        assert s.call("pure", np.ones(3)).modified_arguments == []


@strict_only
def test_the_grader_lists_a_students_folder_from_outside_without_following_links():
    """A student's function leaves links to the machine's files in its output folder, and replaces
    the listing inspector in its own process: the grader's listing is its own and follows no link."""
    from autograder.harness import StudentProxy
    code = '''
import os, tempfile
import inspectors
def make():
    root = os.path.realpath(tempfile.mkdtemp())
    os.makedirs(root + "/sub")
    with open(root + "/sub/a.txt", "w") as handle:
        handle.write("abc")
    os.symlink("/etc", root + "/etc-link")
    os.symlink("/etc/passwd", root + "/sub/passwd-link")
    inspectors.list_file_tree = lambda root: {"forged": "dir"}
    return root
'''
    with session([code]) as student_session:
        root = student_session.call("make").value
        listing = StudentProxy(student_session).list_tree(root)
    assert listing["etc-link"] == "link -> /etc" and listing["sub/passwd-link"] == "link -> /etc/passwd"
    assert listing["sub/a.txt"].startswith("file 3 ") and "forged" not in listing
    assert not any(path.startswith("etc-link/") for path in listing)


def test_the_grader_lists_only_the_sandboxs_scratch_space():
    from autograder.harness import StudentFailure, StudentProxy
    with session(["def noop():\n    return 1\n"]) as student_session:
        student_session.call("noop")
        with pytest.raises(StudentFailure, match="not where the grader created it"):
            StudentProxy(student_session).list_tree(str(REPO / "solutions"))


def test_concurrent_sandboxes_run_under_different_user_ids():
    if launcher.available_isolation() != "strict":
        pytest.skip("separate user ids need root (strict isolation)")
    code = "import os\ndef uid():\n    return os.getuid()\n"
    with session([code]) as first, session([code]) as second:
        uids = {first.call("uid").value, second.call("uid").value}
    assert len(uids) == 2 and all(u >= launcher.SANDBOX_UID_BASE for u in uids)
