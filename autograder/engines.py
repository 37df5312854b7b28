"""Where a class's gradings run: one small interface, and the engines behind it.

A class run (``classroom.grade_class``) turns every submission into a :class:`GradingTask`:
plain data that carries everything a grading needs (the notebook's bytes, the handed-in files'
bytes, the course secret, the data profile), so a worker needs no shared file system, and
returns a plain JSON result. nbgrader's bookkeeping stays on the TA's machine.

Engines:

- :class:`DaskEngine`: Dask distributed. With no address it starts a ``LocalCluster`` sized
  to the machine (one single-threaded worker process per core); with ``scheduler`` it uses an
  existing cluster (``dask scheduler`` plus ``dask worker`` on each grading machine). A worker
  that dies mid-grading is replaced and its task runs again elsewhere, at most
  ``allowed_failures`` times; then the student is reported as not graded, with the reason.
  Tasks that need a GPU (``assignment.toml``: ``[grading] gpu = true``) ask for the resource
  ``GPU=1``, which only workers started with ``--resources GPU=1`` offer.
- :class:`SerialEngine`: in this process, one after another (debugging, benchmarks).
- :class:`ProcessPoolEngine`: the former local process pool, kept for the benchmark's comparison.

Another engine (Ray, a batch queue) only has to implement :meth:`Engine.run`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import multiprocessing
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

# Results that are not a grading: the student is reported as "not graded", with this reason.
NOT_GRADED = "not_graded"


@dataclass
class GradingTask:
    assignment_id: str
    student_id: str
    notebook: bytes
    files: dict[str, bytes] = field(default_factory=dict)
    secret: bytes = b""
    data_profile: str = ""
    deadline_seconds: float = 1800.0
    needs_gpu: bool = False

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.notebook + b"".join(self.files.values())).hexdigest()[:12]
        return f"grade-{self.assignment_id}-{self.student_id}-{digest}"


def not_graded(reason: str) -> dict:
    return {NOT_GRADED: reason}


# -- the task, as a worker runs it -----------------------------------------------------------

@contextlib.contextmanager
def _quiet_output():
    """TensorFlow's start-up lines and any other noise of a grading go to a file, not the terminal."""
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for descriptor in saved:
                os.close(descriptor)


def grade_task(task: GradingTask) -> dict:
    """Grade one submission from its task; the JSON result, or ``{"not_graded": reason}``."""
    from .grading import grade_submission
    from .notebooks import SubmissionError
    from .sandbox import launcher

    if task.data_profile:
        os.environ["COURSE_DATA_PROFILE"] = task.data_profile
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    launcher.allow_sandboxes()
    timer = threading.Timer(task.deadline_seconds, launcher.stop_all_sandboxes,
                            args=(f"the grading took longer than its deadline of {task.deadline_seconds:g} s",))
    timer.daemon = True
    with tempfile.TemporaryDirectory(prefix="grading-task-") as scratch, _quiet_output():
        folder = Path(scratch)
        notebook = folder / "submission.ipynb"
        notebook.write_bytes(task.notebook)
        for name, content in task.files.items():
            if "/" in name or name in ("", ".", ".."):
                return not_graded(f"a handed-in file has an unusable name: {name!r}")
            (folder / name).write_bytes(content)
        timer.start()
        try:
            result = grade_submission(task.assignment_id, notebook, secret=task.secret)
        except SubmissionError as error:
            return not_graded(str(error))
        finally:
            timer.cancel()
    stopped = launcher.sandboxes_stopped()
    if stopped:
        return not_graded(stopped)
    return result


# -- engines ---------------------------------------------------------------------------------

Outcome = tuple[GradingTask, dict]


class Engine:
    """Runs tasks; yields (task, result or not_graded(...)) as each finishes."""

    name = "engine"

    def run(self, tasks: list[GradingTask]) -> Iterator[Outcome]:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _internal(task: GradingTask, error: BaseException) -> dict:
    return not_graded(f"internal error while grading ({type(error).__name__}: {str(error)[:300]}); "
                      f"re-run grade-class for {task.student_id}, and report it if it happens again")


class SerialEngine(Engine):
    name = "serial (this process)"

    def __init__(self, grade: Callable[[GradingTask], dict] = grade_task):
        self.grade = grade

    def run(self, tasks):
        for task in tasks:
            try:
                yield task, self.grade(task)
            except Exception as error:  # a bug in the grader costs one student, never the class
                yield task, _internal(task, error)


class ProcessPoolEngine(Engine):
    def __init__(self, workers: int, grade: Callable[[GradingTask], dict] = grade_task):
        self.workers = max(1, workers)
        self.name = f"process pool ({self.workers} workers)"
        self.pool = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        self.grade = grade

    def run(self, tasks):
        futures = {self.pool.submit(self.grade, task): task for task in tasks}
        for future in concurrent.futures.as_completed(futures):
            task = futures[future]
            try:
                yield task, future.result()
            except Exception as error:
                yield task, _internal(task, error)

    def close(self):
        self.pool.shutdown(cancel_futures=True)


class DaskEngine(Engine):
    """Dask distributed: a local cluster, or the cluster at ``scheduler`` (``tcp://host:8786``)."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, allowed_failures: int = 2,
                 grade: Callable[[GradingTask], dict] = grade_task):
        import logging

        import dask
        from dask.distributed import Client, LocalCluster

        self.grade = grade
        self.allowed_failures = allowed_failures
        # A task whose worker died this many times is given up (KilledWorker). For an existing
        # cluster, the scheduler's own configuration decides (see the README).
        dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures,
                         "distributed.worker.daemon": False,  # a grading starts sandbox processes
                         "distributed.admin.system-monitor.gil.enabled": False,
                         # the statistical profiler samples every thread's stack each 10 ms: CPU
                         # and GIL time taken from the grading (a cluster's workers: see the README)
                         "distributed.worker.profile.enabled": False})
        self.cluster = None
        if scheduler:
            self.client = Client(scheduler, timeout="30s")
            self.name = f"Dask cluster at {scheduler}"
        else:
            count = workers or os.cpu_count() or 1
            self.cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                        dashboard_address=None, silence_logs=logging.ERROR,
                                        env={"TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1"})
            self.client = Client(self.cluster)
            self.name = f"Dask local cluster ({count} worker{'s' if count != 1 else ''})"

    def workers_used(self) -> int:
        return len(self.client.scheduler_info().get("workers", {}))

    def describe(self) -> str:
        return f"{self.name}, {self.workers_used()} worker(s) connected"

    def run(self, tasks):
        from dask.distributed import as_completed
        from distributed.scheduler import KilledWorker

        import warnings
        futures = {}
        for task in tasks:
            # The task's data (notebook, model files) travels inside the task, not scattered to one
            # worker: if that worker died, scattered data would be lost with it and the task with it.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sending large graph")
                future = self.client.submit(self.grade, task, key=task.key, pure=False,
                                            resources={"GPU": 1} if task.needs_gpu else None)
            futures[future.key] = (future, task)
        for future in as_completed([f for f, _ in futures.values()]):
            task = futures[future.key][1]
            try:
                yield task, future.result()
            except KilledWorker:
                yield task, not_graded(f"the grading worker died {self.allowed_failures} times while grading "
                                       "this submission (each time on another worker); the submission may exhaust "
                                       "a worker's memory. Grade it alone with `python -m autograder grade` to see why")
            except Exception as error:
                yield task, _internal(task, error)
            finally:
                future.release()

    def close(self):
        with contextlib.suppress(Exception):
            self.client.close(timeout=10)
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close(timeout=10)


def make_engine(kind: str = "dask", workers: int | None = None, scheduler: str | None = None) -> Engine:
    if scheduler or kind == "dask":
        return DaskEngine(scheduler=scheduler, workers=workers)
    if kind == "serial":
        return SerialEngine()
    if kind == "pool":
        return ProcessPoolEngine(workers or os.cpu_count() or 1)
    raise ValueError(f"unknown engine {kind!r}: dask, serial or pool")


def timed(engine: Engine, tasks: list[GradingTask]) -> tuple[dict[str, dict], float]:
    """Run ``tasks``; (student -> result, seconds). For benchmarks."""
    started = time.perf_counter()
    results = {task.student_id: result for task, result in engine.run(tasks)}
    return results, time.perf_counter() - started
