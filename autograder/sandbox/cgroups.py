"""One control group per sandbox: its own process limit, and CPU time measured by the kernel.

A sandbox's processes are counted and timed here, outside the student's reach: the student's
code can undo anything inside its own process (a tracing hook, a timer, a counter), but not
the kernel's accounting of its cgroup. What the group gives:

- ``pids.max`` caps processes and threads per sandbox, so one submission that holds every
  process slot cannot make another student's TensorFlow fail to start its threads;
- a memory limit for the whole sandbox (all its processes together), so a submission that
  forks cannot hold more than its limit, and the kernel's OOM killer picks inside the group;
- an equal CPU weight per sandbox, so a submission that spins many processes gets its share
  of the machine, not its neighbours';
- ``cpu_seconds()`` is the CPU time of everything the sandbox ran (threads and children
  included), the evidence for assignment 01's vectorisation check.

cgroup v1 (separate ``pids``, ``cpuacct``, ``cpu`` and ``memory`` hierarchies) and v2 (one
unified hierarchy) are both handled. Where neither can be written (no root, no delegation),
``create`` returns None: processes are then limited by RLIMIT_NPROC at the strict level only,
memory per process only (RLIMIT_AS), and CPU time is read from /proc (docs/THREAT_MODEL.md).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
GROUP = "cnn-course"


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _own_v1_path(hierarchy: str) -> str:
    """The grader's own cgroup in a v1 hierarchy: the sandboxes' groups go below it, so they stay
    inside whatever limits the machine puts on the grader (a container's memory group, say)."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if hierarchy in controllers.split(","):
                return path.lstrip("/")
    except (OSError, ValueError):
        pass
    return ""


def _v2_root() -> Path | None:
    """The grader's own cgroup in a unified hierarchy with the pids and cpu controllers."""
    if not (ROOT / "cgroup.controllers").exists():
        return None
    own = Path("/proc/self/cgroup").read_text().strip().splitlines()
    path = next((line.split("::", 1)[1] for line in own if line.startswith("0::")), None)
    if path is None:
        return None
    base = ROOT / path.lstrip("/")
    controllers = (base / "cgroup.controllers").read_text().split() if base.exists() else []
    if not {"pids", "cpu"} <= set(controllers) or not _writable(base):
        return None
    return base


class SandboxCgroup:
    """The control group(s) of one sandbox; remove() when the sandbox is gone."""

    def __init__(self, version: int, folders: dict[str, Path]):
        self.version = version
        # "pids" / "cpu" (accounting) / "weight" / "memory" -> folder (one folder under v2)
        self.folders = folders

    @classmethod
    def create(cls, name: str, max_tasks: int, memory_bytes: int) -> "SandboxCgroup | None":
        try:
            return cls._create(name, max_tasks, memory_bytes)
        except OSError:
            return None

    @classmethod
    def _create(cls, name: str, max_tasks: int, memory_bytes: int) -> "SandboxCgroup | None":
        v1 = {"pids": "pids", "cpu": "cpuacct", "weight": "cpu", "memory": "memory"}
        bases = {role: ROOT / hierarchy / _own_v1_path(hierarchy) for role, hierarchy in v1.items()}
        if all(_writable(base) for base in bases.values()):
            folders = {role: base / GROUP / name for role, base in bases.items()}
            for folder in folders.values():
                folder.mkdir(parents=True, exist_ok=True)
            (folders["pids"] / "pids.max").write_text(str(max_tasks))
            (folders["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            swap = folders["memory"] / "memory.memsw.limit_in_bytes"  # memory + swap: no escape into swap
            if swap.exists():
                swap.write_text(str(memory_bytes))
            return cls(1, folders)
        base = _v2_root()
        if base is None:
            return None
        parent = base / GROUP
        parent.mkdir(exist_ok=True)
        # A v2 cgroup with processes cannot enable controllers for children: ours holds none.
        (parent / "cgroup.subtree_control").write_text("+pids +cpu +memory")
        folder = parent / name
        folder.mkdir(exist_ok=True)
        (folder / "pids.max").write_text(str(max_tasks))
        (folder / "memory.max").write_text(str(memory_bytes))
        if (folder / "memory.swap.max").exists():
            (folder / "memory.swap.max").write_text("0")
        return cls(2, {role: folder for role in ("pids", "cpu", "weight", "memory")})

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (0: the calling process) into the group; its children follow."""
        for folder in {str(f): f for f in self.folders.values()}.values():
            (folder / "cgroup.procs").write_text(str(pid or os.getpid()))

    def cpu_seconds(self) -> float | None:
        try:
            if self.version == 1:
                return int((self.folders["cpu"] / "cpuacct.usage").read_text()) / 1e9
            stat = dict(line.split() for line in (self.folders["cpu"] / "cpu.stat").read_text().splitlines())
            return int(stat["usage_usec"]) / 1e6
        except (OSError, KeyError, ValueError):
            return None

    def task_limit_hits(self) -> int:
        """How often a fork or thread start was refused because the group was full."""
        try:
            events = dict(line.split() for line in (self.folders["pids"] / "pids.events").read_text().splitlines())
            return int(events.get("max", 0))
        except (OSError, ValueError):
            return 0

    def memory_limit_hits(self) -> int:
        """How often the group ran into its memory limit (OOM kills under v2, failed charges under v1)."""
        try:
            if self.version == 1:
                return int((self.folders["memory"] / "memory.failcnt").read_text())
            events = dict(line.split() for line in (self.folders["memory"] / "memory.events").read_text().splitlines())
            return int(events.get("oom_kill", 0)) + int(events.get("max", 0))
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        """Kill what is left in the group, then delete it."""
        for folder in {str(f): f for f in self.folders.values()}.values():
            for _ in range(50):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
