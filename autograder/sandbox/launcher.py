"""Start the sandboxed worker process and take it down again, with everything it started.

Three isolation levels, chosen by what the machine allows (or forced with the
environment variable ``COURSE_SANDBOX=strict|userns|none``):

``strict`` (root): new mount, network, PID, IPC and UTS namespaces, and a minimal root
    filesystem: the system folders, the Python installation and the sandbox's own folder,
    all read-only, plus size-limited scratch space. Nothing else on the machine is
    visible (the repository, the course directory, other checkouts), nor are the
    libraries an assignment forbids. The worker runs under a user id of its own, unused
    by any other sandbox running at the same time, with no capabilities, in a cgroup of
    its own (process limit, CPU accounting) where the machine allows one. The namespace's
    init is a root shell the student cannot signal or see; killing it takes every process
    of the submission with it, detached ones included.
``userns`` (unprivileged user namespaces): the same, inside a user namespace, as the
    grader's own user with every capability dropped.
``none``: no namespaces. Resource limits, output capture and process-tree cleanup
    still apply, but the network is open and files are only protected by permissions.
    Every report says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import glob
import importlib.metadata
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from .cgroups import SandboxCgroup

HERE = Path(__file__).resolve().parent
PR_SET_CHILD_SUBREAPER = 36
# Each sandbox running at the same time on this machine gets its own unprivileged user id,
# so per-user limits (RLIMIT_NPROC) and signals never reach another student's sandbox.
SANDBOX_UID_BASE = 420_000
SANDBOX_UID_SLOTS = 1000

ISOLATION_NOTES = {
    "strict": "strict: separate namespaces (no network, private processes, secrets hidden), "
              "runs as an unprivileged user",
    "userns": "user namespace: no network, private processes, secrets hidden, repository read-only",
    "none": "NOT ISOLATED: this machine allows no namespaces, so student code ran with network "
            "access and could read files readable by the grader's user; limits and process "
            "cleanup still applied",
}


@dataclass
class Limits:
    wall_seconds_per_call: float = 30.0
    wall_seconds_startup: float = 60.0
    cpu_seconds: int = 300
    memory_bytes: int = 4 << 30
    file_bytes: int = 64 << 20
    scratch_bytes: int = 128 << 20
    processes: int = 64
    output_bytes: int = 20_000


@dataclass
class SandboxConfig:
    hidden_paths: list[Path] = field(default_factory=list)
    visible_paths: list[Path] = field(default_factory=list)  # beyond the system and Python
    artifacts: list[Path] = field(default_factory=list)  # files handed in with the notebook
    limits: Limits = field(default_factory=Limits)
    python: str = sys.executable
    forbidden_modules: tuple = ()  # libraries removed from the sandbox's file system


def _can_run(command: list[str]) -> bool:
    try:
        return subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.lru_cache(maxsize=None)
def available_isolation() -> str:
    forced = os.environ.get("COURSE_SANDBOX")
    if forced:
        if forced not in ISOLATION_NOTES:
            raise ValueError(f"COURSE_SANDBOX must be one of {', '.join(ISOLATION_NOTES)}, not {forced!r}")
        return forced
    tools_path = "/usr/sbin:/usr/bin:/sbin:/bin"
    if all(shutil.which(tool, path=tools_path) for tool in ("unshare", "setpriv", "chroot", "mount")):
        probe = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "true"]
        if os.geteuid() == 0 and _can_run(probe):
            return "strict"
        if _can_run(["unshare", "--user", "--map-root-user", *probe[1:]]):
            return "userns"
    return "none"


class _OutputTail(threading.Thread):
    """Drains a pipe so a flood never blocks the worker; keeps only the first bytes."""

    def __init__(self, pipe, limit: int):
        super().__init__(daemon=True)
        self.pipe, self.limit = pipe, limit
        self.kept = bytearray()
        self.total = 0

    def run(self):
        while chunk := os.read(self.pipe.fileno(), 65536):
            self.total += len(chunk)
            room = self.limit - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]

    def text(self) -> str:
        text = self.kept.decode("utf-8", "replace")
        if self.total > len(self.kept):
            text += f"\n[... output truncated: {self.total:,} bytes in all, first {len(self.kept):,} kept]"
        return text


def _set_limits(limits: Limits, isolation: str, cgroup: SandboxCgroup | None = None):
    def apply():
        os.setsid()
        # No PR_SET_PDEATHSIG: it fires when the *thread* that started the sandbox ends. If the grading
        # process dies, the worker reads end-of-file on its request pipe and exits; a busy one is
        # ended by its CPU-time limit.
        if cgroup is not None:
            cgroup.join()
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if isolation == "strict":  # counts this sandbox's own user id only
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    return apply


SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
NEVER_HIDDEN = {"numpy", "numpy.libs"}  # the worker itself needs these


def _site_folders(python_roots: list[Path]) -> list[Path]:
    """Every folder of Python packages the sandbox can see, not only those on sys.path."""
    patterns = [f"{root}/lib/python3*/site-packages" for root in python_roots]
    patterns += ["/usr/lib/python3*/dist-packages", "/usr/lib/python3/dist-packages",
                 "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages"]
    folders = {Path(p) for pattern in patterns for p in glob.glob(pattern)}
    folders |= {Path(p) for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return sorted(f for f in folders if f.is_dir())


def _top_name(entry: str) -> str:
    return entry.split(".")[0].split("-")[0]


@functools.lru_cache(maxsize=None)
def forbidden_package_paths(modules: tuple, python_roots: tuple) -> tuple:
    """The files and folders of the forbidden libraries, wherever the sandbox could import them
    from: the packages, their shared libraries (``scipy.libs``) and their metadata.

    Covering these with empty mounts makes the libraries absent, so no import trick (editing
    ``sys.meta_path``, ``__import__`` by string, loading a module or a ``.so`` by path) finds them.
    """
    wanted = set(modules)
    found: set[Path] = set()
    for site in _site_folders([Path(r) for r in python_roots]):
        try:
            entries = os.listdir(site)
        except OSError:
            continue
        found |= {site / e for e in entries if _top_name(e) in wanted}
        for dist in importlib.metadata.distributions(path=[str(site)]):
            tops = {f.parts[0] for f in (dist.files or []) if f.parts and f.parts[0] not in ("..", "__pycache__")}
            if wanted & {_top_name(t) for t in tops}:
                found |= {site / t for t in tops}
    return tuple(sorted(p for p in found if os.path.lexists(p) and p.name not in NEVER_HIDDEN
                        and _top_name(p.name) not in NEVER_HIDDEN))


COMPILER_PATTERNS = ("/usr/bin/*gcc*", "/usr/bin/*g++*", "/usr/bin/cc", "/usr/bin/c++", "/usr/bin/cpp*",
                     "/usr/bin/*clang*", "/usr/bin/tcc", "/usr/bin/as", "/usr/bin/*-as", "/usr/bin/ld",
                     "/usr/bin/ld.*", "/usr/bin/*-ld*", "/usr/lib/gcc", "/usr/libexec/gcc")


def compilers() -> list[Path]:
    """C compilers and assemblers: where libraries are forbidden, a loop written in C and loaded
    with ctypes is forbidden too, so the sandbox has no compiler to build one."""
    return sorted({Path(p) for pattern in COMPILER_PATTERNS for p in glob.glob(pattern)})


def _python_roots(config: "SandboxConfig") -> tuple:
    interpreter = Path(os.path.realpath(config.python))
    return tuple(str(p) for p in (Path(sys.base_prefix), Path(sys.prefix), interpreter.parent.parent))
DEVICES = ("null", "zero", "full", "random", "urandom")


def _visible_paths(config: SandboxConfig, sandbox_root: Path) -> list[Path]:
    """What the student's process sees: the system, the Python it runs, and its own folder."""
    interpreter = Path(os.path.realpath(config.python))
    candidates = [Path(p) for p in SYSTEM_PATHS] + [
        Path(sys.base_prefix), Path(sys.prefix), interpreter.parent.parent, sandbox_root,
        *config.visible_paths]
    chosen: list[Path] = []
    for path in sorted({p for p in candidates if os.path.lexists(p)}, key=lambda p: len(p.parts)):
        if not any(path == c or c in path.parents for c in chosen if not c.is_symlink()):
            chosen.append(path)
    return chosen


def _mount_script(config: SandboxConfig, isolation: str, sandbox_root: Path, scratch: Path,
                  argv: list[str], uid: int | None = None) -> str:
    """Build a minimal root (system, Python, the sandbox folder; read-only), then enter it.

    Nothing else on the machine is visible: not the repository, not the course directory,
    not another checkout of the solutions.
    """
    q = lambda path: shlex.quote(str(path))  # noqa: E731
    new = sandbox_root.with_name(sandbox_root.name + ".fs")
    size = config.limits.scratch_bytes
    lines = ["set -e", "mount --make-rprivate /",
             f"mount -t tmpfs -o size=16m,mode=755 sandbox-fs {q(new)}",
             f"mkdir -p {q(f'{new}/proc')} {q(f'{new}/dev/shm')} {q(f'{new}/tmp')}",
             # hidepid: the student sees its own processes only, not the init shell's command line
             f"mount -t proc -o hidepid=2 proc {q(f'{new}/proc')}",
             f"mount -t tmpfs -o size=16m,mode=1777 shm {q(f'{new}/dev/shm')}",
             f"mount -t tmpfs -o size={size},mode=1777 tmp {q(f'{new}/tmp')}"]
    for path in _visible_paths(config, sandbox_root):
        inside = f"{new}{path}"  # same path inside as outside
        if path.is_symlink():
            lines += [f"mkdir -p {q(Path(inside).parent)}", f"ln -s {q(os.readlink(path))} {q(inside)}"]
            continue
        recursive = "--rbind" if str(path) in SYSTEM_PATHS else "--bind"
        lines += [f"mkdir -p {q(inside)}", f"mount {recursive} {q(path)} {q(inside)}",
                  f"mount -o remount,bind,ro {q(inside)}"]
    visible = _visible_paths(config, sandbox_root)
    hidden = list(config.hidden_paths)
    if config.forbidden_modules:
        hidden += forbidden_package_paths(tuple(config.forbidden_modules), _python_roots(config))
        hidden += compilers()
    for path in hidden:  # secrets inside a visible folder; the rest is not there at all
        if os.path.lexists(path) and any(v == path or v in path.parents for v in visible):
            inside = q(f"{new}{path}")
            lines.append(f"if [ -d {inside} ] && [ ! -L {inside} ]; then mount -t tmpfs -o ro,size=4k,mode=000 "
                         f"hidden-by-grader {inside}; elif [ -f {inside} ] && [ ! -L {inside} ]; then "
                         f"mount --bind /dev/null {inside}; fi")
    lines.append(f"mount -t tmpfs -o size={size},mode=1777 scratch {q(f'{new}{scratch}')}")
    for device in DEVICES:
        lines += [f"touch {q(f'{new}/dev/{device}')}", f"mount --bind /dev/{device} {q(f'{new}/dev/{device}')}"]
    if isolation == "strict":
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    inner = f"cd {q(scratch)} && exec " + " ".join(shlex.quote(a) for a in drop + argv)
    # The shell stays outside as the namespace's init: when it dies, the kernel kills the rest.
    lines.append(f"chroot {q(new)} /bin/sh -c {shlex.quote(inner)} &")
    lines.append("wait $!")
    return "\n".join(lines)


# An outer deadline for a whole grading: a watchdog stops every sandbox of this process, and no
# new one starts until the next grading allows them again (engines.grade_task).
_live_sandboxes: "weakref.WeakSet[SandboxProcess]" = weakref.WeakSet()
_stopped_because: list[str] = []


def stop_all_sandboxes(reason: str) -> None:
    _stopped_because.append(reason)
    for sandbox in list(_live_sandboxes):
        with contextlib.suppress(Exception):
            sandbox.kill()


def allow_sandboxes() -> None:
    _stopped_because.clear()


def sandboxes_stopped() -> str:
    """Why sandboxes were stopped since the last ``allow_sandboxes``, or ''."""
    return _stopped_because[0] if _stopped_because else ""


class _UidSlot:
    """A user id no other sandbox on this machine holds right now (a lock file per id)."""

    def __init__(self):
        folder = Path(_sandbox_parent()) / "uid-slots"
        folder.mkdir(mode=0o700, exist_ok=True)
        start = os.getpid() % SANDBOX_UID_SLOTS  # spread concurrent graders over the range
        for offset in range(SANDBOX_UID_SLOTS):
            slot = (start + offset) % SANDBOX_UID_SLOTS
            handle = open(folder / f"{slot}.lock", "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            self.handle, self.uid = handle, SANDBOX_UID_BASE + slot
            return
        raise RuntimeError(f"all {SANDBOX_UID_SLOTS} sandbox user ids are in use on this machine")

    def release(self):
        self.handle.close()


class SandboxProcess:
    """One running worker. ``requests``/``responses`` are the protocol channel."""

    def __init__(self, config: SandboxConfig):
        if _stopped_because:
            raise RuntimeError(f"grading stopped: {_stopped_because[0]}")
        self.config = config
        self.isolation = available_isolation()
        self.root = Path(tempfile.mkdtemp(prefix="cnn-sandbox-", dir=_sandbox_parent()))
        self.new_root = self.root.with_name(self.root.name + ".fs")
        os.chmod(self.root, 0o755)
        for name in ("worker.py", "protocol.py", "inspectors.py"):
            shutil.copy(HERE / name, self.root / name)
        self.artifacts = self.root / "artifacts"
        self.artifacts.mkdir(mode=0o755)
        for artifact in config.artifacts:  # the submission's files, read-only inside
            shutil.copy(artifact, self.artifacts / artifact.name)
            os.chmod(self.artifacts / artifact.name, 0o644)
        self.scratch = self.root / "work"
        self.scratch.mkdir(mode=0o777)
        os.chmod(self.scratch, 0o1777)
        self.uid_slot = _UidSlot() if self.isolation == "strict" else None
        self.cgroup = SandboxCgroup.create(self.root.name, config.limits.processes, config.limits.memory_bytes)
        request_read, self._request_write = os.pipe()
        self._response_read, response_write = os.pipe()
        argv = [config.python, "-E", "-s", "-B", str(self.root / "worker.py"),
                str(request_read), str(response_write)]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.scratch), "TMPDIR": str(self.scratch),
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3",
               # TensorFlow sizes its thread pools by the machine's cores; keep them inside the process limit
               "TF_NUM_INTEROP_THREADS": "2", "TF_NUM_INTRAOP_THREADS": "2"}
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        if self.isolation == "none":
            command = argv
            _become_subreaper()
        else:
            namespaces = ["--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--mount-proc",
                          "--kill-child"]
            if self.isolation == "userns":
                namespaces = ["--user", "--map-root-user", *namespaces]
            self.new_root.mkdir(mode=0o755)
            script = _mount_script(config, self.isolation, self.root, self.scratch, argv,
                                   uid=self.uid_slot.uid if self.uid_slot else None)
            # The script goes in a file outside the sandbox's view, not on the init's command line.
            script_path = self.root.with_name(self.root.name + ".sh")
            script_path.write_text(script)
            command = ["unshare", *namespaces, "/bin/sh", str(script_path)]
        self.process = subprocess.Popen(
            command, cwd=self.scratch, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(request_read, response_write),
            preexec_fn=_set_limits(config.limits, self.isolation, self.cgroup))
        os.close(request_read)
        os.close(response_write)
        self.requests = os.fdopen(self._request_write, "wb", buffering=0)
        self.responses = os.fdopen(self._response_read, "rb", buffering=0)
        self.stdout = _OutputTail(self.process.stdout, config.limits.output_bytes)
        self.stderr = _OutputTail(self.process.stderr, config.limits.output_bytes)
        self.stdout.start()
        self.stderr.start()
        _live_sandboxes.add(self)

    @property
    def uid(self) -> int | None:
        return self.uid_slot.uid if self.uid_slot else None

    def cpu_seconds(self) -> float | None:
        """CPU time of everything this sandbox ran so far, as the kernel counts it (threads and
        children included), read from outside: nothing the student's code does can lower it."""
        if self.cgroup is not None:
            return self.cgroup.cpu_seconds()
        return _tree_cpu_seconds(self.process.pid)

    def task_limit_hits(self) -> int:
        return self.cgroup.task_limit_hits() if self.cgroup is not None else 0

    def memory_limit_hits(self) -> int:
        return self.cgroup.memory_limit_hits() if self.cgroup is not None else 0

    def outside_root(self) -> Path:
        """The sandbox's ``/`` as the grader can reach it: through the namespace's init, which
        sees the sandbox's own mounts (its scratch space is a tmpfs that exists only there)."""
        if self.isolation == "none":
            return Path("/")
        init = _children(self.process.pid)
        if not init:
            raise RuntimeError("the sandbox's init process is gone")
        return Path(f"/proc/{init[0]}/root") / str(self.new_root).lstrip("/")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self):
        """Take down the worker and every process it started."""
        if self.isolation == "none":
            _kill_tree(self.process.pid)
        else:
            # unshare's death delivers SIGKILL to the namespace's init, which ends them all.
            _signal(self.process.pid, signal.SIGKILL)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.requests, self.responses):
            try:
                stream.close()
            except OSError:
                pass
        self.stdout.join(timeout=2)
        self.stderr.join(timeout=2)
        if self.cgroup is not None:
            self.cgroup.remove()
        if self.uid_slot is not None:
            self.uid_slot.release()
            self.uid_slot = None
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.rmtree(self.new_root, ignore_errors=True)
        self.root.with_name(self.root.name + ".sh").unlink(missing_ok=True)


def _sandbox_parent() -> str:
    # Not under a tmpfs the sandbox may cover; private to the grader's user.
    parent = Path(os.environ.get("COURSE_SANDBOX_DIR", Path(tempfile.gettempdir()) / "cnn-course-sandboxes"))
    parent.mkdir(mode=0o711, exist_ok=True)
    return str(parent)


def _signal(pid: int, sig: int):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@functools.lru_cache(maxsize=None)
def _become_subreaper():
    """Orphans of student processes re-parent to the grader, so they can be found."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) for every visible process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            table[int(entry.name)] = (int(fields[1]), int(fields[3]))
        except (OSError, IndexError, ValueError):
            continue
    return table


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for t in Path(f"/proc/{pid}/task").iterdir()
                for c in (t / "children").read_text().split()]
    except OSError:
        return []


def _tree_cpu_seconds(root_pid: int) -> float | None:
    """Without a cgroup: user + system time of the process tree, reaped children included."""
    ticks = os.sysconf("SC_CLK_TCK")
    table = _process_table()
    tree, grew = {root_pid}, True
    while grew:
        grew = False
        for pid, (ppid, _sid) in table.items():
            if pid not in tree and ppid in tree:
                tree.add(pid)
                grew = True
    total = 0
    for pid in tree:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            continue
    return total / ticks


def _kill_tree(root_pid: int):
    """Without namespaces: kill the worker's session, its descendants and our orphans."""
    me = os.getpid()
    for _ in range(5):
        table = _process_table()
        doomed = {pid for pid, (ppid, sid) in table.items() if sid == root_pid or pid == root_pid}
        grew = True
        while grew:
            grew = False
            for pid, (ppid, _sid) in table.items():
                if pid not in doomed and (ppid in doomed or (ppid == me and pid != root_pid
                                                              and _is_sandbox_orphan(pid))):
                    doomed.add(pid)
                    grew = True
        doomed.discard(me)
        if not doomed:
            return
        for pid in doomed:
            _signal(pid, signal.SIGKILL)
        for pid in doomed:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _is_sandbox_orphan(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return b"cnn-sandbox-" in cmdline or b"cnn-sandbox-" in environ
