"""``make bench``: figures, measured side by side on this machine. Nothing is asserted.

1. grading one submission next to one plain execution of the same notebook;
2. a class of 100 assignment-01 submissions and one of 20 assignment-04 submissions, each graded
   serially, on the Dask local cluster with 1 and with W workers, and on the former process pool;
3. the reference conv2d_fast next to tf.nn.conv2d and the loop conv2d;
4. the reference conv2d_fast against the naive loops and tf.nn.conv2d on three CS231n layers, in
   float32, on a quiet machine and with a busy loop on one core beside it (medians of the ratios).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np

from .assignments import load_assignment
from .engines import grade_task
from .grading import grade_submission, load_reference

ASSIGNMENT = "01_convolution_by_hand"


def _best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def grading_vs_plain_execution(folder: Path) -> None:
    from nbclient import NotebookClient

    from .submissions import build_submission
    notebook = build_submission(ASSIGNMENT)
    path = folder / "ada.ipynb"
    nbformat.write(notebook, path)
    grade_submission(ASSIGNMENT, path)  # warm caches (reference, imports)
    grading = statistics.median(_best_of(lambda: grade_submission(ASSIGNMENT, path), 1) for _ in range(3))

    def execute():
        from .engines import _quiet_output
        copy = nbformat.read(path, as_version=4)
        with _quiet_output():  # the kernel inherits the descriptors: its start-up lines stay off the terminal
            NotebookClient(copy, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()
    plain = _best_of(execute, 1)
    print("1. One submission (a complete, correct assignment 01)")
    print(f"   grading in the sandbox (hidden checks): {grading:7.2f} s")
    print(f"   plain execution of the notebook:        {plain:7.2f} s   "
          f"(grading / execution = {grading / plain:.2f})")


def _class_tasks(folder: Path, assignment_id: str, size: int) -> list:
    """``size`` tasks of the demo class's honest students (casey's hang would dominate a timing)."""
    from .classroom import _prepare
    from .demo import demo_class
    from .secret import course_secret
    staging = folder / f"staging-{assignment_id}"
    base = demo_class(assignment_id, staging)
    honest = ["ada", "brook", "drew"]
    course = folder / f"course-{assignment_id}"
    notebook_name = f"{load_assignment(assignment_id).notebook_name}.ipynb"
    tasks = []
    for i in range(size):
        who = honest[i % len(honest)]
        target = course / "submitted" / f"student{i:03d}" / assignment_id
        target.mkdir(parents=True)
        nbformat.write(base[who], target / notebook_name)
        for handed in (staging / who).glob("*") if (staging / who).is_dir() else []:
            (target / handed.name).write_bytes(handed.read_bytes())
        task, _, problem = _prepare(assignment_id, f"student{i:03d}", target / notebook_name, course,
                                    course_secret(course), 1800.0)
        assert task is not None, problem
        tasks.append(task)
    return tasks


def carry_only(task) -> dict:
    """A task that grades nothing: what is left of its time is the engine's own cost of carrying it
    (the notebook and the handed-in files to a worker, the result back). Module level, so that the
    workers can unpickle it."""
    return {"score": 0.0, "carried_bytes": len(task.notebook) + sum(map(len, task.files.values()))}


def _where_the_time_went(results: dict) -> str:
    """Medians over the gradings of the result's ``timing``: the student's worker (its start: imports
    and cells; its calls), the clean worker (its start; its calls: descriptions and predictions)."""
    timings = [r["timing"] for r in results.values() if "timing" in r]
    if not timings:
        return "no timings"

    def median(*keys):
        values = []
        for timing in timings:
            value = timing
            for key in keys:
                value = value.get(key, {}) if isinstance(value, dict) else {}
            values.append(value if isinstance(value, (int, float)) else 0.0)
        return statistics.median(values)
    return (f"median grading {median('total_seconds'):.1f} s: student's worker start "
            f"{median('student_worker', 'start_seconds'):.1f} s, calls {median('student_worker', 'call_seconds'):.1f} s; "
            f"clean worker start {median('clean_worker', 'start_seconds'):.1f} s, "
            f"calls {median('clean_worker', 'call_seconds'):.1f} s (the two workers start side by side)")


def class_grading(folder: Path, sizes: dict[str, int], workers: int) -> None:
    """Each class graded by each engine, side by side, then the engines carrying the same tasks
    without grading them: the engine's own cost per submission."""
    from .bench import carry_only  # by its module's name, not __main__'s, so that workers can load it
    from .engines import DaskEngine, ProcessPoolEngine, SerialEngine, timed
    print("2. Grading a class, engine by engine (wall-clock seconds; the same tasks each time)")
    for number, (assignment_id, size) in enumerate(sizes.items()):
        tasks = _class_tasks(folder, assignment_id, size)
        timings = {}
        engines = [("serial, in this process", lambda grade: SerialEngine(grade)),
                   ("Dask local cluster, 1 worker", lambda grade: DaskEngine(workers=1, grade=grade)),
                   (f"Dask local cluster, {workers} workers", lambda grade: DaskEngine(workers=workers, grade=grade)),
                   (f"former process pool, {workers} workers", lambda grade: ProcessPoolEngine(workers, grade))]
        carried = sum(len(t.notebook) + sum(map(len, t.files.values())) for t in tasks) / size
        print(f"   {assignment_id}: a class of {size} ({carried / 1e6:.1f} MB carried per submission)")
        for label, make in engines:
            with make(grade_task) as engine:
                results, seconds = timed(engine, tasks)
            failed = sum(1 for r in results.values() if "not_graded" in r)
            timings[label] = seconds
            print(f"     {label:38} {seconds:8.1f} s  ({seconds / size:5.2f} s per submission)"
                  + (f"  {failed} not graded!" if failed else ""))
            if label.startswith("serial"):
                print(f"       {_where_the_time_went(results)}")
        one, many = timings["Dask local cluster, 1 worker"], timings[f"Dask local cluster, {workers} workers"]
        print(f"     speed-up, {workers} workers against 1: {one / many:.2f}x on {os.cpu_count()} cores")
        overheads = []
        for label, make in engines[2:]:
            with make(carry_only) as engine:
                _, seconds = timed(engine, tasks)
            overheads.append(f"{label.split(',')[0]} {seconds / size * 1000:.0f} ms")
        print(f"     engine's own cost per submission (the same tasks, carried but not graded, {workers} "
              f"workers): {'; '.join(overheads)}")


def naive_conv2d(x, kernel, strides):
    """The textbook loops (batch, positions, filters), as a first attempt is written. 'valid' only."""
    n, h, w, _ = x.shape
    kh, kw, _, filters = kernel.shape
    out_h, out_w = (h - kh) // strides + 1, (w - kw) // strides + 1
    out = np.zeros((n, out_h, out_w, filters))
    for b in range(n):
        for i in range(out_h):
            for j in range(out_w):
                window = x[b, i * strides:i * strides + kh, j * strides:j * strides + kw, :]
                for f in range(filters):
                    out[b, i, j, f] = np.sum(window * kernel[..., f])
    return out


def convolution_speed() -> None:
    reference = load_reference(ASSIGNMENT)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 31, 31, 3))  # CS231n's benchmark shapes, in NHWC
    kernel = rng.normal(size=(3, 3, 3, 25))
    arguments = dict(strides=2, padding="valid")
    naive = _best_of(lambda: naive_conv2d(x, kernel, 2), 1)
    loop = _best_of(lambda: reference.conv2d(x, kernel, **arguments), 3)
    fast = _best_of(lambda: reference.conv2d_fast(x, kernel, **arguments), 5)
    import tensorflow as tf
    x32, k32 = tf.constant(x, tf.float32), tf.constant(kernel, tf.float32)
    tf.nn.conv2d(x32, k32, 2, "VALID")  # warm-up
    tensorflow = _best_of(lambda: tf.nn.conv2d(x32, k32, 2, "VALID").numpy(), 5)
    print("3. Convolution, x (100, 31, 31, 3), kernel (3, 3, 3, 25), stride 2, 'valid' (best of runs)")
    print(f"   naive loops (batch, positions, filters): {naive * 1e3:9.1f} ms")
    print(f"   conv2d, reference (loops over positions): {loop * 1e3:8.1f} ms   ({naive / loop:6.1f}x faster than naive)")
    print(f"   conv2d_fast, reference (im2col, NumPy):   {fast * 1e3:8.1f} ms   ({naive / fast:6.1f}x faster than naive, "
          f"{loop / fast:.1f}x faster than conv2d)")
    print(f"   tf.nn.conv2d (float32, CPU):              {tensorflow * 1e3:8.1f} ms   "
          f"({fast / tensorflow:6.1f}x faster than conv2d_fast)")


# Three CS231n layers in NHWC: its fast-layer benchmark (stride 2, pad 1, and stride 1, pad 0) and
# the first layer of its three-layer convnet (32 filters of 7x7, pad 3) on a batch of 50.
CS231N_LAYERS = {
    "x (100, 31, 31, 3), 25 3x3 filters, stride 2, 'same'": ((100, 31, 31, 3), (3, 3, 3, 25), 2, "same"),
    "x (100, 31, 31, 3), 25 3x3 filters, stride 1, 'valid'": ((100, 31, 31, 3), (3, 3, 3, 25), 1, "valid"),
    "x (50, 32, 32, 3), 32 7x7 filters, stride 1, 'same'": ((50, 32, 32, 3), (7, 7, 3, 32), 1, "same"),
}
NAIVE_IMAGES = 4  # the naive loops are timed on this many images and scaled: their time is linear in the batch


def _conv2d_fast_ratios(reference, tf) -> list[tuple[str, float, float, float]]:
    rng = np.random.default_rng(0)
    rows = []
    for name, (x_shape, k_shape, strides, padding) in CS231N_LAYERS.items():
        x = rng.normal(size=x_shape).astype(np.float32)
        kernel = rng.normal(size=k_shape).astype(np.float32)
        pad = ((0, 0), (k_shape[0] // 2,) * 2, (k_shape[1] // 2,) * 2, (0, 0)) if padding == "same" else ((0, 0),) * 4
        naive = _best_of(lambda: naive_conv2d(np.pad(x[:NAIVE_IMAGES], pad), kernel, strides), 1) \
            * x_shape[0] / NAIVE_IMAGES
        fast = _best_of(lambda: reference.conv2d_fast(x, kernel, strides=strides, padding=padding), 15)
        x_tf, k_tf = tf.constant(x), tf.constant(kernel)
        tf.nn.conv2d(x_tf, k_tf, strides, padding.upper())  # warm-up
        tensorflow = _best_of(lambda: tf.nn.conv2d(x_tf, k_tf, strides, padding.upper()).numpy(), 15)
        rows.append((name, naive, fast, tensorflow))
    return rows


def conv2d_fast_against_tensorflow() -> None:
    """The reference conv2d_fast should be at least 300x faster than the naive loops and within 2x of
    tf.nn.conv2d, as the median over the three layers, on a quiet machine and with one core busy."""
    import subprocess
    import sys
    reference = load_reference(ASSIGNMENT)
    import tensorflow as tf
    print("4. conv2d_fast (reference) on CS231n's layers, float32, best of 15 runs; naive loops timed on "
          f"{NAIVE_IMAGES} images and scaled to the batch")
    for condition in ("quiet", "one core busy"):
        busy = None
        if condition != "quiet":  # a busy loop in another process, as another program would run
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.5)
        try:
            rows = _conv2d_fast_ratios(reference, tf)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
        print(f"   {condition}:")
        for name, naive, fast, tensorflow in rows:
            print(f"     {name:56} naive {naive * 1e3:8.0f} ms  conv2d_fast {fast * 1e3:6.2f} ms  "
                  f"tf.nn.conv2d {tensorflow * 1e3:6.2f} ms  ({naive / fast:5.0f}x faster than naive, "
                  f"{fast / tensorflow:4.2f}x TensorFlow's time)")
        print(f"     median: {statistics.median(n / f for _, n, f, _ in rows):.0f}x faster than the naive loops "
              f"(goal: at least 300x), {statistics.median(f / t for _, _, f, t in rows):.2f}x TensorFlow's time "
              "(goal: at most 2x)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--class-01", type=int, default=100, help="size of the assignment-01 class")
    parser.add_argument("--class-04", type=int, default=20, help="size of the assignment-04 class")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--convolution-only", action="store_true", help="only sections 3 and 4 (seconds, not minutes)")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from cnn_course.runtime import configure
    configure()  # before anything imports TensorFlow: its start-up lines stay off the terminal
    print(f"Machine: {os.cpu_count()} cores; figures are wall-clock seconds on this machine.\n")
    if not args.convolution_only:
        with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
            grading_vs_plain_execution(Path(scratch))
            print()
            class_grading(Path(scratch), {"01_convolution_by_hand": args.class_01,
                                          "04_small_data_convnets": args.class_04}, args.workers)
        print()
    convolution_speed()
    print()
    conv2d_fast_against_tensorflow()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
