"""``make bench``: figures, measured side by side on this machine. Nothing is asserted.

1. grading one submission next to one plain execution of the same notebook;
2. a class of N submissions graded with 1 worker and with W workers;
3. the reference conv2d_fast next to tf.nn.conv2d and the loop conv2d.
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
        copy = nbformat.read(path, as_version=4)
        NotebookClient(copy, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    plain = _best_of(execute, 1)
    print("1. One submission (a complete, correct assignment 01)")
    print(f"   grading in the sandbox (hidden checks): {grading:7.2f} s")
    print(f"   plain execution of the notebook:        {plain:7.2f} s   "
          f"(grading / execution = {grading / plain:.2f})")


def class_grading(folder: Path, size: int, workers: int) -> None:
    from .classroom import grade_all
    from .demo import demo_class, write_submissions  # noqa: F401
    course = folder / "course"
    notebook_name = "convolution_by_hand"
    base = demo_class(ASSIGNMENT)
    honest = [base["ada"], base["brook"], base["drew"]]  # casey's hang would dominate the timing
    for i in range(size):
        target = course / "submitted" / f"student{i:03d}" / ASSIGNMENT
        target.mkdir(parents=True)
        nbformat.write(honest[i % len(honest)], target / f"{notebook_name}.ipynb")
    timings = {}
    for count in sorted({1, workers}):
        results = course / "autograder-results"
        if results.exists():
            import shutil
            shutil.rmtree(results)
        started = time.perf_counter()
        grade_all(ASSIGNMENT, course, count)
        timings[count] = time.perf_counter() - started
    print(f"2. A class of {size} submissions")
    for count, seconds in timings.items():
        print(f"   {count} worker(s): {seconds:7.2f} s  ({seconds / size:.2f} s per submission)")
    if workers > 1:
        print(f"   speed-up with {workers} workers: {timings[1] / timings[workers]:.2f}x on {os.cpu_count()} cores")


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
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--class-size", type=int, default=12)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    print(f"Machine: {os.cpu_count()} cores; figures are wall-clock seconds on this machine.\n")
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        grading_vs_plain_execution(Path(scratch))
        print()
        class_grading(Path(scratch), args.class_size, args.workers)
    print()
    convolution_speed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
