"""Start the sandboxed worker process and take it down again, with everything it started.

Three isolation levels, chosen by what the machine allows (or forced with the
environment variable ``COURSE_SANDBOX=strict|userns|none``):

``strict`` (root): new mount, network, PID, IPC and UTS namespaces. Secret paths are
    covered by empty read-only tmpfs mounts, the scratch directory is a size-limited
    tmpfs, and the worker runs as ``nobody`` with no capabilities. The namespace's init
    is a root shell the student cannot signal; killing it takes every process of the
    submission with it, detached ones included.
``userns`` (unprivileged user namespaces): the same namespaces inside a user namespace;
    the repository and home directory are additionally remounted read-only.
``none``: no namespaces. Resource limits, output capture and process-tree cleanup
    still apply, but the network is open and files are only protected by permissions.
    Every report says so.
"""

from __future__ import annotations

import ctypes
import functools
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOBODY = 65534
PR_SET_CHILD_SUBREAPER = 36

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
    read_only_paths: list[Path] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    python: str = sys.executable


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
    if shutil.which("unshare") and shutil.which("setpriv"):
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


def _set_limits(limits: Limits, isolation: str):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
        if isolation == "strict":  # counts the processes of 'nobody' only
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
    return apply


def _mount_script(config: SandboxConfig, isolation: str, scratch: Path, argv: list[str]) -> str:
    q = shlex.quote
    lines = ["set -e", "mount --make-rprivate /"]
    if isolation == "userns":  # before hiding: a later bind of a parent would uncover the secrets
        for path in config.read_only_paths:
            if path.exists():
                lines.append(f"mount --bind {q(str(path))} {q(str(path))}")
                lines.append(f"mount -o remount,bind,ro {q(str(path))}")
    for path in config.hidden_paths:
        if path.exists():
            lines.append(f"mount -t tmpfs -o ro,size=4k,mode=000 hidden-by-grader {q(str(path))}")
    size = config.limits.scratch_bytes
    lines.append(f"mount -t tmpfs -o size={size},mode=1777 scratch {q(str(scratch))}")
    lines.append(f"cd {q(str(scratch))}")
    lines.append("if [ -d /dev/shm ]; then mount -t tmpfs -o size=16m,mode=1777 shm /dev/shm; fi")
    if isolation == "strict":
        drop = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    # The shell stays as the namespace's init: when it dies, the kernel kills the rest.
    lines.append(" ".join(q(a) for a in drop + argv) + " &")
    lines.append("wait $!")
    return "\n".join(lines)


class SandboxProcess:
    """One running worker. ``requests``/``responses`` are the protocol channel."""

    def __init__(self, config: SandboxConfig):
        self.config = config
        self.isolation = available_isolation()
        self.root = Path(tempfile.mkdtemp(prefix="cnn-sandbox-", dir=_sandbox_parent()))
        os.chmod(self.root, 0o755)
        for name in ("worker.py", "protocol.py"):
            shutil.copy(HERE / name, self.root / name)
        self.scratch = self.root / "work"
        self.scratch.mkdir(mode=0o777)
        os.chmod(self.scratch, 0o1777)
        request_read, self._request_write = os.pipe()
        self._response_read, response_write = os.pipe()
        argv = [config.python, "-E", "-s", "-B", str(self.root / "worker.py"),
                str(request_read), str(response_write)]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.scratch), "TMPDIR": str(self.scratch),
               "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3"}
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
            script = _mount_script(config, self.isolation, self.scratch, argv)
            command = ["unshare", *namespaces, "/bin/sh", "-c", script]
        self.process = subprocess.Popen(
            command, cwd=self.scratch, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(request_read, response_write),
            preexec_fn=_set_limits(config.limits, self.isolation))
        os.close(request_read)
        os.close(response_write)
        self.requests = os.fdopen(self._request_write, "wb", buffering=0)
        self.responses = os.fdopen(self._response_read, "rb", buffering=0)
        self.stdout = _OutputTail(self.process.stdout, config.limits.output_bytes)
        self.stderr = _OutputTail(self.process.stderr, config.limits.output_bytes)
        self.stdout.start()
        self.stderr.start()

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
        shutil.rmtree(self.root, ignore_errors=True)


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
