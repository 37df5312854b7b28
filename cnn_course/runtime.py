"""Set up TensorFlow the same way in a notebook, in the grader and on the GPU runner.

One call at the top of a notebook (or of a grading process)::

    from cnn_course.runtime import configure
    print(configure())          # seed 1337, op determinism on
    # cpu: 2 cores (...) | TensorFlow 2.21.0, Keras 3.15.1, NumPy 2.4.6 | seed 1337, op determinism on

``configure(seed=1337, deterministic=True)``

1. quiets TensorFlow's logs: ``TF_CPP_MIN_LOG_LEVEL=2`` (errors only) unless you set it
   yourself, the Python loggers ``tensorflow`` and ``absl`` at ERROR, and the messages
   TensorFlow's C++ code writes straight to the process's stderr while it is imported and
   while it looks for devices are read, and only the known harmless start-up lines are
   dropped (``QUIET_PATTERNS``); anything else is written back to ``sys.stderr``;
2. seeds Python, NumPy and TensorFlow with ``keras.utils.set_random_seed`` (which also resets
   Keras's global seed generator) and sets ``PYTHONHASHSEED`` for processes started later;
3. turns on ``tf.config.experimental.enable_op_determinism()`` when ``deterministic`` is true;
4. turns off TensorFloat-32 (``full_float32=True``, the default): on NVIDIA Ampere and newer
   GPUs TensorFlow otherwise rounds the inputs of float32 matrix products and convolutions
   to 10 bits of mantissa, about 1e-3 relative error, far outside the course's float32
   tolerances (README, "GPU grading runner"); it changes nothing on a CPU or an older GPU;
5. turns on memory growth on every GPU, so TensorFlow takes GPU memory as it needs it instead
   of all of it at start;
6. detects the device and returns a ``RuntimeInfo``.

It is idempotent: a second call with the same arguments changes nothing but resetting the
seeds to the same values. ``describe_runtime()`` returns the same record and changes nothing.

What cannot be silenced, and why:

* messages printed before ``configure()`` runs. TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL``
  once, the first time it logs, so call ``configure()`` before ``import tensorflow`` (or set
  the variable in the environment that starts Python or the kernel);
* C++ messages written after ``configure()`` returns, for example at the first GPU
  operation (cuDNN/cuBLAS loading, XLA compilation, ``ptxas`` warnings): ERROR lines still
  appear with the default level 2, by design; set ``TF_CPP_MIN_LOG_LEVEL=3`` to hide them;
* Python ``warnings`` (deprecations and the like) are left alone: they are usually about
  the student's code;
* in Jupyter, what C++ code writes to stderr goes to the kernel's log or, with recent
  ipykernel, to the cell output; neither can be filtered after the fact.

This module imports TensorFlow only inside the functions, so ``import cnn_course`` and
``import cnn_course.runtime`` stay light. Without TensorFlow installed, ``configure()``
still seeds Python and NumPy and reports a CPU.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["DEFAULT_SEED", "RuntimeInfo", "configure", "describe_runtime", "nvidia_gpus_present",
           "cpu_description", "QUIET_PATTERNS"]

DEFAULT_SEED = 1337
DEFAULT_TF_LOG_LEVEL = "2"  # 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR

# Start-up lines from TensorFlow's C++ code that say nothing a student or TA can act on.
# Only these are dropped from what configure() captures; every other line is written back.
QUIET_PATTERNS = (
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"oneDNN custom operations are on",
    r"cpu_feature_guard\.cc",
    r"^To enable the following instructions: .*rebuild TensorFlow",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"Unable to register (cuDNN|cuFFT|cuBLAS) factory",
    r"computation placer already registered",
    r"TF-TRT Warning: Could not find TensorRT",
    r"successful NUMA node read from SysFS had negative value",
)
# About CUDA: harmless on a machine without an NVIDIA GPU, a real problem on one with a GPU.
CUDA_PATTERNS = (
    r"cudart_stub\.cc",
    r"Could not find cuda drivers",
    r"failed call to cuInit",
    r"cuda_diagnostics",
    r"kernel driver does not appear to be running",
)

_state: dict = {"seed": None, "deterministic": False}


@dataclass(frozen=True)
class RuntimeInfo:
    """Where the course code runs, as plain data (``as_dict()`` is JSON-ready)."""

    device: str                           # "gpu" or "cpu"
    device_count: int                     # GPUs TensorFlow uses, or usable CPU cores
    device_names: tuple[str, ...]         # GPU model names, or the CPU model
    tensorflow: str | None                # versions; None when not installed
    keras: str | None
    numpy: str
    python: str
    deterministic: bool                   # TensorFlow op determinism on
    seed: int | None                      # the seed configure() set; None if never called
    memory_growth: bool = False           # on for every GPU
    tensor_float_32: bool | None = None   # TensorFloat-32 allowed (matters on Ampere+ GPUs only)
    tensorflow_built_with_cuda: bool | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def __str__(self) -> str:
        if self.device == "gpu":
            where = f"gpu: {self.device_count} x {', '.join(dict.fromkeys(self.device_names))}"
            where += ", memory growth on" if self.memory_growth else ", memory growth off"
            if self.tensor_float_32:
                where += ", TensorFloat-32 on"
        else:
            model = f" ({self.device_names[0]})" if self.device_names else ""
            cores = "core" if self.device_count == 1 else "cores"
            where = f"cpu: {self.device_count} {cores}{model}"
        versions = ", ".join(f"{name} {version}" for name, version in
                             (("TensorFlow", self.tensorflow), ("Keras", self.keras), ("NumPy", self.numpy))
                             if version)
        seed = "no seed set" if self.seed is None else f"seed {self.seed}"
        determinism = "op determinism on" if self.deterministic else "op determinism off"
        line = f"{where} | {versions} | {seed}, {determinism}"
        if self.warnings:
            more = f" (+{len(self.warnings) - 1} more)" if len(self.warnings) > 1 else ""
            line += f" | WARNING: {self.warnings[0]}{more}"
        return line

    def as_dict(self) -> dict:
        data = asdict(self)
        data["device_names"] = list(self.device_names)
        data["warnings"] = list(self.warnings)
        return data


# --------------------------------------------------------------------------- public API


def configure(seed: int | None = DEFAULT_SEED, deterministic: bool = True, quiet: bool = True,
              full_float32: bool = True) -> RuntimeInfo:
    """Seed, make TensorFlow deterministic, enable GPU memory growth, detect the device.

    ``seed=None`` leaves the random generators alone. ``quiet=False`` leaves logging as it is.
    ``full_float32=False`` allows TensorFloat-32 again (TensorFlow's default; faster on Ampere+
    GPUs, about 1e-3 relative error in float32 convolutions and matrix products).
    Safe to call more than once; call it before any TensorFlow operation, ideally before
    ``import tensorflow`` (see the module's docstring for what cannot be silenced).
    """
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an integer or None, not {seed!r}")
    if quiet:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_TF_LOG_LEVEL)
        _quiet_python_loggers()
    notes: list[str] = []
    with _native_stderr(capture=quiet, notes=notes):
        tf = _import_tensorflow()
        if seed is not None:
            _seed_everything(int(seed), tf)
        if tf is not None:
            _set_op_determinism(tf, deterministic, notes)
            _state["deterministic"] = bool(deterministic)
            tf.config.experimental.enable_tensor_float_32_execution(not full_float32)
            _enable_memory_growth(tf, notes)
    if seed is not None:
        _state["seed"] = int(seed)
    return _describe(tf, notes, capture=quiet)


def describe_runtime() -> RuntimeInfo:
    """The same record as ``configure()`` returns, without seeding or changing any setting."""
    notes: list[str] = []
    with _native_stderr(capture=True, notes=notes):
        tf = _import_tensorflow()
    return _describe(tf, notes, capture=True)


def nvidia_gpus_present() -> list[str]:
    """Names of the NVIDIA GPUs this machine exposes, without importing TensorFlow.

    Reads ``/proc/driver/nvidia/gpus/*/information`` (the kernel driver), then falls back to
    ``nvidia-smi -L``. An empty list means no NVIDIA GPU is visible to this process
    (none installed, no driver, or a container started without ``--gpus``).
    """
    names = []
    for info in sorted(glob.glob("/proc/driver/nvidia/gpus/*/information")):
        try:
            with open(info, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        match = re.search(r"^Model:\s*(.+)$", text, re.MULTILINE)
        names.append(match.group(1).strip() if match else "NVIDIA GPU")
    if names:
        return names
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20,
                                 stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return []
    if listing.returncode != 0:
        return []
    for line in listing.stdout.splitlines():  # "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-...)"
        match = re.match(r"^GPU \d+:\s*(.+?)(\s*\(UUID:.*\))?\s*$", line.strip())
        if match:
            names.append(match.group(1))
    return names


def cpu_description() -> tuple[int, str]:
    """(usable cores, CPU model) for this process; respects CPU affinity and cpusets."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cores, re.sub(r"\s+", " ", model or platform.processor() or platform.machine() or "CPU")


# --------------------------------------------------------------------------- steps


def _quiet_python_loggers() -> None:
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        from absl import logging as absl_logging
    except ImportError:
        return
    absl_logging.set_verbosity(absl_logging.ERROR)


def _import_tensorflow():
    try:
        import tensorflow as tf
    except ImportError:
        return None
    return tf


def _seed_everything(seed: int, tf) -> None:
    os.environ.setdefault("PYTHONHASHSEED", str(seed))  # for processes started from here on
    try:
        import keras
    except ImportError:
        keras = None
    if keras is not None:
        keras.utils.set_random_seed(seed)  # Python, NumPy, TensorFlow, Keras's seed generator
        return
    random.seed(seed)
    np.random.seed(seed)
    if tf is not None:
        tf.random.set_seed(seed)


def _set_op_determinism(tf, deterministic: bool, notes: list[str]) -> None:
    if deterministic:
        tf.config.experimental.enable_op_determinism()
        return
    if _op_determinism_enabled(tf):
        try:  # not in the public API; only reachable after an earlier configure(deterministic=True)
            from tensorflow.python.framework import config as tf_config
            tf_config.disable_op_determinism()
        except (ImportError, AttributeError):
            notes.append("op determinism stays on: this TensorFlow cannot turn it off again")


def _op_determinism_enabled(tf) -> bool:
    try:
        from tensorflow.python.framework import config as tf_config
        return bool(tf_config.is_op_determinism_enabled())
    except (ImportError, AttributeError):
        return bool(_state.get("deterministic", False))


def _enable_memory_growth(tf, notes: list[str]) -> None:
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:
            notes.append(f"memory growth is off on {gpu.name}: TensorFlow had already started on the GPU; "
                         "call configure() before any TensorFlow operation (restart the kernel)")
        except ValueError as error:  # virtual devices configured on this GPU
            notes.append(f"memory growth is off on {gpu.name}: {error}")


def _describe(tf, notes: list[str], capture: bool) -> RuntimeInfo:
    cores, model = cpu_description()
    hardware = nvidia_gpus_present()
    warnings = list(notes)
    if tf is None:
        if hardware:
            warnings.append(f"{len(hardware)} NVIDIA GPU(s) present but TensorFlow is not installed")
        return RuntimeInfo(device="cpu", device_count=cores, device_names=(model,), tensorflow=None,
                           keras=_keras_version(), numpy=np.__version__, python=platform.python_version(),
                           deterministic=False, seed=_state["seed"], warnings=tuple(warnings))
    with _native_stderr(capture=capture, notes=warnings):
        gpus = tf.config.list_physical_devices("GPU")
    names = tuple(_gpu_name(tf, gpu) for gpu in gpus)
    growth = bool(gpus) and all(tf.config.experimental.get_memory_growth(gpu) for gpu in gpus)
    built_with_cuda = bool(tf.test.is_built_with_cuda())
    if hardware and not gpus:
        hidden = os.environ.get("CUDA_VISIBLE_DEVICES")
        if hidden is not None and hidden.strip() in ("", "-1"):
            reason = f"CUDA_VISIBLE_DEVICES={hidden!r} hides them"
        elif not built_with_cuda:
            reason = "this TensorFlow build has no CUDA support"
        else:
            reason = ("are the CUDA libraries installed (pip install 'tensorflow[and-cuda]', or use the "
                      "tensorflow/tensorflow:*-gpu image)?")
        warnings.append(f"{len(hardware)} NVIDIA GPU(s) present ({', '.join(hardware)}) but TensorFlow "
                        f"sees none, so everything runs on the CPU: {reason}")
    return RuntimeInfo(
        device="gpu" if gpus else "cpu",
        device_count=len(gpus) if gpus else cores,
        device_names=names if gpus else (model,),
        tensorflow=tf.__version__, keras=_keras_version(), numpy=np.__version__,
        python=platform.python_version(), deterministic=_op_determinism_enabled(tf),
        seed=_state["seed"], memory_growth=growth,
        tensor_float_32=bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        tensorflow_built_with_cuda=built_with_cuda, warnings=tuple(warnings))


def _gpu_name(tf, gpu) -> str:
    try:
        details = tf.config.experimental.get_device_details(gpu)
    except Exception:  # noqa: BLE001 - details are a nicety; the device name is enough
        details = {}
    return str(details.get("device_name") or gpu.name)


def _keras_version() -> str | None:
    keras = sys.modules.get("keras")
    if keras is None:
        try:
            import keras
        except ImportError:
            return None
    return getattr(keras, "__version__", None)


# --------------------------------------------------------------------------- native stderr


def _is_quiet_line(line: str, gpu_hardware: bool) -> bool:
    if not line.strip():
        return True
    if any(re.search(pattern, line) for pattern in QUIET_PATTERNS):
        return True
    return not gpu_hardware and any(re.search(pattern, line) for pattern in CUDA_PATTERNS)


@contextlib.contextmanager
def _native_stderr(capture: bool, notes: list[str]) -> Iterator[None]:
    """Collect what is written to file descriptor 2 during the block; pass on what matters.

    TensorFlow's C++ code logs to the process's stderr, below Python's ``sys.stderr``, and
    some of its start-up lines ignore ``TF_CPP_MIN_LOG_LEVEL``. Known harmless lines are
    dropped; everything else is written to ``sys.stderr`` when the block ends, also when it
    raises. On a machine with an NVIDIA GPU, CUDA errors are kept and added to ``notes``.
    """
    if not capture:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no file descriptor 2 (some embedded interpreters)
        yield
        return
    sink = tempfile.TemporaryFile()
    try:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            sink.seek(0)
            captured = sink.read().decode("utf-8", "replace").splitlines()
            hardware = bool(captured) and bool(nvidia_gpus_present())
            kept = [line for line in captured if not _is_quiet_line(line, hardware)]
            if hardware:
                notes.extend(line.strip()[:300] for line in kept
                             if any(re.search(pattern, line) for pattern in CUDA_PATTERNS))
            if kept:
                with contextlib.suppress(Exception):
                    sys.stderr.write("\n".join(kept) + "\n")
                    sys.stderr.flush()
    finally:
        os.close(saved)
        sink.close()
