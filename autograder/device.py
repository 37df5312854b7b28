"""The grading device, as plain data, for every grading report.

    python -m autograder.device          # print what this machine would record, as JSON

``grading_device()`` never imports TensorFlow. It looks, in order, at:

1. ``COURSE_GRADING_DEVICE``: an explicit override, ``cpu``, ``gpu`` or ``gpu:<model name>``
   (for a runner whose driver the grader cannot see, or to pin the record in tests);
2. the NVIDIA driver (``/proc/driver/nvidia/gpus``, then ``nvidia-smi -L``), narrowed by
   ``CUDA_VISIBLE_DEVICES`` the way CUDA narrows it;
3. otherwise the CPU: usable cores and model.

When TensorFlow is already imported in this process (a hidden check used it), what
TensorFlow itself sees is added as ``tensorflow_gpus``; it is never imported for this.

The record says which hardware the grader ran on. Student code runs in the sandbox, which
exposes no GPU device files, so it runs on the CPU in any case; only the grader's own
process (hidden checks, references) can use the GPU.
"""

from __future__ import annotations

import functools
import json
import os
import sys

from cnn_course.runtime import cpu_description, nvidia_gpus_present

OVERRIDE = "COURSE_GRADING_DEVICE"
KINDS = ("cpu", "gpu")


def grading_device(environ: dict | None = None) -> dict:
    """``{"kind": "cpu"|"gpu"|"unknown", "count", "names", "source", ...}``; never raises."""
    environ = os.environ if environ is None else environ
    override = environ.get(OVERRIDE, "").strip()
    if override:
        record = _from_override(override)
    else:
        record = _from_hardware(environ.get("CUDA_VISIBLE_DEVICES"))
    tensorflow = sys.modules.get("tensorflow")
    if tensorflow is not None:
        try:
            record["tensorflow_gpus"] = len(tensorflow.config.list_physical_devices("GPU"))
        except Exception:  # noqa: BLE001 - a half-imported TensorFlow must not break a report
            pass
    return record


def _from_override(value: str) -> dict:
    kind, _, name = value.partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS:
        return {"kind": "unknown", "count": 0, "names": [], "source": OVERRIDE,
                "note": f"{OVERRIDE}={value!r} is not cpu, gpu or gpu:<model name>"}
    if kind == "cpu":
        cores, model = _cpu()
        return {"kind": "cpu", "count": cores, "names": [name.strip() or model], "source": OVERRIDE}
    names = [name.strip()] if name.strip() else []
    return {"kind": "gpu", "count": len(names) or None, "names": names, "source": OVERRIDE}


def _from_hardware(cuda_visible: str | None) -> dict:
    gpus = list(_nvidia_gpus())
    note = None
    if gpus and cuda_visible is not None:
        wanted = [item.strip() for item in cuda_visible.split(",") if item.strip()]
        if not wanted or wanted[0] == "-1":
            note = f"{len(gpus)} NVIDIA GPU(s) hidden by CUDA_VISIBLE_DEVICES={cuda_visible!r}"
            gpus = []
        elif all(item.isdigit() for item in wanted):  # CUDA stops at the first invalid index
            chosen = []
            for item in wanted:
                if int(item) >= len(gpus):
                    break
                chosen.append(gpus[int(item)])
            gpus = chosen
        # UUIDs or MIG names: keep the driver's list; the record stays an upper bound
    if gpus:
        record = {"kind": "gpu", "count": len(gpus), "names": gpus, "source": "nvidia-driver"}
    else:
        cores, model = _cpu()
        record = {"kind": "cpu", "count": cores, "names": [model], "source": "cpu"}
    if note:
        record["note"] = note
    return record


@functools.lru_cache(maxsize=1)
def _nvidia_gpus() -> tuple[str, ...]:
    return tuple(nvidia_gpus_present())  # a subprocess at most once per grading process


@functools.lru_cache(maxsize=1)
def _cpu() -> tuple[int, str]:
    return cpu_description()


def main() -> int:
    print(json.dumps(grading_device(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
