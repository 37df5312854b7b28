"""The grader's handle on a student's code: load the cells once, then call functions.

A crash, exit, hang or flood inside one call costs that call only: the session notes
what happened, takes the worker down and starts a fresh one (re-running the student's
cells) for the next call. A cell that kills the worker while loading is skipped on the
next start, so one broken cell cannot take the other functions with it.
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import time
from dataclasses import dataclass, field

from . import protocol
from .launcher import ISOLATION_NOTES, SandboxConfig, SandboxProcess

# A start that fails while loading the cells skips the cell that killed the worker, so the
# number of failed starts is bounded by the cells. Restarts after a call crashed are bounded per
# function by the harness (StudentProxy.MAX_CRASHES), so one function's crashes never use up
# another's.
EXTRA_FAILED_STARTS = 2
# Text from the student's process (exception messages, tracebacks) reaches feedback, so it is cut
# here, on the trusted side, whatever length the worker sent: feedback is no channel out.
MAX_STUDENT_MESSAGE = 300
MAX_STUDENT_TRACEBACK = 500


def _cut(text: str, limit: int, keep_end: bool = False) -> str:
    text = text.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates reach a report
    if len(text) <= limit:
        return text
    return ("[...] " + text[-limit:]) if keep_end else (text[:limit] + " [...]")


class _Deadline:
    """A readable stream over a pipe that gives up at a fixed time."""

    def __init__(self, stream, seconds: float):
        self.fd = stream.fileno()
        self.deadline = time.monotonic() + seconds

    def read(self, size: int) -> bytes:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
            raise TimeoutError
        return os.read(self.fd, min(size, 1 << 20))

    def expired(self) -> bool:
        return time.monotonic() > self.deadline


@dataclass
class CallOutcome:
    status: str  # ok | error | forbidden | missing | timeout | crashed | unsendable | protocol
    value: object = None
    seconds: float | None = None
    message: str = ""
    traceback: str = ""
    error_type: str = ""
    library: str = ""
    cpu_seconds: float | None = None  # measured outside the sandbox (its cgroup), not reported by it
    modified_arguments: list = field(default_factory=list)
    returned_none: bool = False
    while_inspecting: bool = False


@dataclass
class CellReport:
    cell: str
    status: str
    message: str = ""
    traceback: str = ""
    seconds: float | None = None


class StudentSession:
    def __init__(self, cells: list[dict], config: SandboxConfig | None = None,
                 forbidden_modules: tuple[str, ...] = ()):
        self.cells = cells
        # The forbidden libraries are removed from the sandbox's file system (the launcher) and
        # stubbed in the worker, so that using one fails with a message that names it.
        self.config = dataclasses.replace(config or SandboxConfig(), forbidden_modules=tuple(forbidden_modules))
        self.forbidden_modules = list(forbidden_modules)
        self.process: SandboxProcess | None = None
        self.cell_reports: dict[str, CellReport] = {}
        self.skipped_cells: set[str] = set()
        self.defined: set[str] = set()
        self.starts = 0
        self.failed_starts = 0
        self.isolation = None
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self.events: list[str] = []  # what the grader saw of crashes and limits, for the TA's log
        self.start_seconds: list[float] = []  # wall time of each start, up to the worker's "ready"
        self.call_seconds = 0.0  # wall time spent in calls, start-ups excluded

    # -- lifecycle -------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.process is not None:
            try:
                if self.process.alive():
                    protocol.write_frame(self.process.requests, {"op": "exit"})
            except OSError:
                pass
            self._stop()

    def _stop(self):
        process, self.process = self.process, None
        process.kill()
        self._stdout.append(process.stdout.text())
        self._stderr.append(process.stderr.text())

    def _start(self):
        while True:
            if self.failed_starts > len(self.cells) + EXTRA_FAILED_STARTS:
                raise RuntimeError("the student's code could not be loaded after repeated crashes")
            self.starts += 1
            started = time.monotonic()
            self.process = SandboxProcess(self.config)
            self.isolation = self.process.isolation
            cells = [c for c in self.cells if c["id"] not in self.skipped_cells]
            try:
                protocol.write_frame(self.process.requests,
                                     {"op": "init", "forbidden_modules": self.forbidden_modules}, cells)
                self._read_startup()
                self.start_seconds.append(time.monotonic() - started)
                return
            except _CellKilledWorker as failure:
                self.failed_starts += 1
                self.cell_reports[failure.cell] = CellReport(failure.cell, failure.status, failure.message)
                self.skipped_cells.add(failure.cell)
                self._stop()
            except (OSError, EOFError, TimeoutError, protocol.ProtocolError):
                self._stop()
                detail = self._stderr[-1].strip()[-1500:] if self._stderr else ""
                raise RuntimeError(f"the sandbox ({self.isolation}) could not start the student's code"
                                   + (f": {detail}" if detail else "")) from None

    def _read_startup(self):
        reader = _Deadline(self.process.responses, self.config.limits.wall_seconds_startup)
        current = None
        while True:
            try:
                header, _ = protocol.read_frame(reader)
            except TimeoutError:
                raise _CellKilledWorker(current, "timeout",
                                        f"this cell was still running after "
                                        f"{self.config.limits.wall_seconds_startup:g} s, so the grader "
                                        "stopped it (only the setup cell and your solution cells run "
                                        "during grading; keep slow experiments out of them)") from None
            except (EOFError, protocol.ProtocolError):
                if current is None:
                    raise
                raise _CellKilledWorker(current, "crashed", self._exit_message(f"running cell {current}")) from None
            event = header.get("event")
            if event == "cell_started":
                current = str(header.get("cell"))
            elif event == "cell_finished":
                self.cell_reports[current] = CellReport(
                    current, str(header.get("status")),
                    message=_cut(str(header.get("message") or header.get("library") or ""), MAX_STUDENT_MESSAGE),
                    traceback=_cut(str(header.get("traceback") or ""), MAX_STUDENT_TRACEBACK, keep_end=True),
                    seconds=header.get("seconds"))
                current = None
            elif event == "ready":
                self.defined = {str(n) for n in header.get("defined", [])}
                return
            else:
                raise protocol.ProtocolError("unexpected startup message")

    # -- calls -----------------------------------------------------------------------
    def artifact_path(self, name: str) -> str:
        """Where a handed-in file appears inside the sandbox (the same path on every start)."""
        if self.process is None or not self.process.alive():
            if self.process is not None:
                self._stop()
            self._start()
        return str(self.process.artifacts / name)

    def call(self, function: str | None, *args, timeout: float | None = None,
             then: str | None = None, then_args: tuple = (), **kwargs) -> CallOutcome:
        if self.process is None or not self.process.alive():
            if self.process is not None:
                self._stop()
            self._start()
        seconds = timeout or self.config.limits.wall_seconds_per_call
        called = time.monotonic()
        try:
            return self._call(function, args, kwargs, seconds, then, then_args)
        finally:
            self.call_seconds += time.monotonic() - called

    def _call(self, function, args, kwargs, seconds, then, then_args) -> CallOutcome:
        try:
            cpu_before = self.process.cpu_seconds()
            protocol.write_frame(self.process.requests,
                                 {"op": "call", "function": function, "then": then},
                                 [list(args), kwargs, list(then_args)])
            header, value = protocol.read_frame(_Deadline(self.process.responses, seconds))
            cpu_after = self.process.cpu_seconds()
        except TimeoutError:
            self._stop()
            self.events.append(f"sandbox: no answer within {seconds:g} s while calling {function or then}; stopped")
            return CallOutcome("timeout", message=f"no answer within {seconds:g} s")
        except (EOFError, BrokenPipeError, ConnectionError):
            message = self._exit_message(f"calling {function or then}")
            self._stop()
            return CallOutcome("crashed", message=message)
        except protocol.ProtocolError as error:
            self._stop()
            return CallOutcome("protocol", message=str(error))
        outcome = _outcome(header, value)
        if cpu_before is not None and cpu_after is not None:
            outcome.cpu_seconds = cpu_after - cpu_before
        return outcome

    def _exit_message(self, doing: str) -> str:
        """What the grader saw when the worker died: its exit, and the limits it ran into."""
        process = self.process
        if process is None:
            return "the process running your code stopped"
        try:
            process.process.wait(timeout=5)
        except Exception:
            pass
        code = process.process.returncode
        if code is None:
            return "the process running your code closed its connection to the grader"
        if process.isolation != "none" and code > 128:
            code = -(code - 128)  # the namespace's shell reports a signal as 128 + its number
        evidence = []
        hits = process.task_limit_hits()
        if hits:
            evidence.append(f"it tried {hits} time(s) to start a process or thread beyond its limit of "
                            f"{self.config.limits.processes}")
        if process.memory_limit_hits():
            evidence.append(f"it reached its memory limit of {self.config.limits.memory_bytes / 2**30:.1f} GiB "
                            "(all its processes together)")
        cpu = process.cpu_seconds()
        if cpu is not None and cpu >= 0.95 * self.config.limits.cpu_seconds:
            evidence.append(f"it used {cpu:.0f} s of CPU time, its limit being {self.config.limits.cpu_seconds} s")
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            message = f"the process running your code was killed by {name} (signal {-code})"
            if evidence:
                message += ": " + "; ".join(evidence)
            elif name in ("SIGSEGV", "SIGBUS"):
                message += "; the usual cause is the memory limit"
            elif name == "SIGABRT":
                message += "; a library aborted (TensorFlow does when it cannot start its threads or allocate memory)"
        else:
            message = f"the process running your code exited with status {code} (did it call exit() or os._exit()?)"
            if evidence:
                message += "; " + "; ".join(evidence)
        self.events.append(f"sandbox ({process.isolation}, uid {process.uid}): {message}, while {doing}")
        return message

    # -- reporting -------------------------------------------------------------------
    @property
    def isolation_note(self) -> str:
        return ISOLATION_NOTES.get(self.isolation or "", "not started")

    def output(self) -> tuple[str, str]:
        parts_out, parts_err = list(self._stdout), list(self._stderr)
        if self.process is not None:
            parts_out.append(self.process.stdout.text())
            parts_err.append(self.process.stderr.text())
        return "".join(parts_out), "".join(parts_err)


class _CellKilledWorker(Exception):
    def __init__(self, cell, status, message):
        super().__init__(message)
        self.cell, self.status, self.message = cell, status, message


_FIELDS = {"seconds": (int, float), "message": str, "traceback": str, "error_type": str,
           "library": str, "returned_none": bool,
           "while_inspecting": bool}


def _outcome(header: dict, value) -> CallOutcome:
    status = header.get("status")
    if status not in {"ok", "error", "forbidden", "missing", "unsendable"}:
        return CallOutcome("protocol", message="unexpected answer from the sandbox")
    outcome = CallOutcome(status, value=value)
    for name, kinds in _FIELDS.items():
        item = header.get(name)
        if isinstance(item, kinds) and not (kinds is int and isinstance(item, bool)):
            setattr(outcome, name, item)
    outcome.message = _cut(outcome.message, MAX_STUDENT_MESSAGE)
    outcome.traceback = _cut(outcome.traceback, MAX_STUDENT_TRACEBACK, keep_end=True)
    outcome.error_type = _cut(outcome.error_type, 80)
    outcome.library = _cut(outcome.library, 120)
    modified = header.get("modified_arguments")
    if isinstance(modified, list) and all(isinstance(i, int) for i in modified):
        outcome.modified_arguments = modified
    return outcome
