"""The TensorFlow runtime setup, the grading device record and the GPU runner's files.

This machine has no GPU: the GPU path is checked for consistency here (versions, files,
overrides); that it runs is for the GPU runner (docker/gpu-runner/README.md).
TensorFlow work runs in one child process, so that op determinism and the seeds it sets
never leak into other tests.
"""

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from autograder.device import grading_device
from cnn_course.runtime import RuntimeInfo, nvidia_gpus_present

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "docker" / "gpu-runner" / "Dockerfile"
ENTRYPOINT = REPO / "docker" / "gpu-runner" / "entrypoint.sh"
WORKFLOW = REPO / ".github" / "workflows" / "gpu-validation.yml"

TENSORFLOW_WORK = textwrap.dedent("""
    import contextlib, io, json, os, sys
    os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)  # configure() must quiet TensorFlow by itself
    import cnn_course.runtime as runtime
    light = "tensorflow" not in sys.modules and "keras" not in sys.modules

    first = runtime.configure(seed=1337, deterministic=True)
    second = runtime.configure(seed=1337, deterministic=True)
    described = runtime.describe_runtime()

    import numpy as np
    import keras

    def train(seed):
        runtime.configure(seed=seed)
        x = np.random.default_rng(0).normal(size=(64, 8, 8, 1)).astype("float32")
        y = (x.mean(axis=(1, 2, 3)) > 0).astype("int32")
        model = keras.Sequential([
            keras.Input((8, 8, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Dropout(0.25), keras.layers.Flatten(), keras.layers.Dense(2)])
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=16, epochs=1, steps_per_epoch=3, shuffle=True, verbose=0)
        return np.concatenate([np.ravel(w) for w in model.get_weights()])

    a, b, c = train(1337), train(1337), train(7)
    print("RESULT " + json.dumps({
        "light_import": light,
        "first": first.as_dict(), "second": second.as_dict(), "described": described.as_dict(),
        "line": str(first),
        "same_seed_identical": bool(np.array_equal(a, b)),
        "other_seed_max_difference": float(np.max(np.abs(a - c))),
    }))
""")


@pytest.fixture(scope="module")
def tensorflow_run():
    process = subprocess.run([sys.executable, "-c", TENSORFLOW_WORK], cwd=REPO, capture_output=True,
                             text=True, timeout=240)
    assert process.returncode == 0, process.stderr[-3000:]
    line = next(line for line in process.stdout.splitlines() if line.startswith("RESULT "))
    return {"result": json.loads(line[len("RESULT "):]), "stderr": process.stderr}


# ------------------------------------------------------------------------ runtime


def test_importing_the_runtime_does_not_import_tensorflow(tensorflow_run):
    assert tensorflow_run["result"]["light_import"]


def test_configure_is_idempotent_and_reports_this_machine(tensorflow_run):
    result = tensorflow_run["result"]
    first, second = result["first"], result["second"]
    assert first == second
    expected = "gpu" if nvidia_gpus_present() else "cpu"
    assert first["device"] == expected
    if expected == "cpu":
        assert first["device_count"] >= 1 and first["device_names"] and first["device_names"][0]
        assert first["memory_growth"] is False
        assert first["warnings"] == []
    assert first["deterministic"] is True and first["seed"] == 1337
    assert first["tensor_float_32"] is False
    assert first["tensorflow"] and first["keras"] and first["numpy"]


def test_describe_runtime_returns_the_same_record(tensorflow_run):
    result = tensorflow_run["result"]
    assert result["described"] == result["first"]


def test_the_record_prints_as_one_line(tensorflow_run):
    line = tensorflow_run["result"]["line"]
    assert "\n" not in line
    assert line.startswith(("cpu: ", "gpu: "))
    for part in ("TensorFlow", "Keras", "NumPy", "seed 1337", "op determinism on"):
        assert part in line


def test_start_up_noise_is_quiet(tensorflow_run):
    stderr = tensorflow_run["stderr"]
    assert "oneDNN custom operations" not in stderr
    assert "absl::InitializeLog" not in stderr
    if not nvidia_gpus_present():
        assert "cuInit" not in stderr and "cuda drivers" not in stderr


def test_training_is_deterministic_for_a_seed(tensorflow_run):
    result = tensorflow_run["result"]
    assert result["same_seed_identical"], "two runs with the same seed gave different weights"
    assert result["other_seed_max_difference"] > 1e-3, "a different seed gave the same weights"


def test_the_record_is_plain_data():
    info = RuntimeInfo(device="gpu", device_count=2, device_names=("NVIDIA A100", "NVIDIA A100"),
                       tensorflow="2.21.0", keras="3.15.1", numpy="2.4.6", python="3.11.7",
                       deterministic=True, seed=1, memory_growth=True, tensor_float_32=False,
                       warnings=("something to know",))
    assert json.loads(json.dumps(info.as_dict()))["device_names"] == ["NVIDIA A100", "NVIDIA A100"]
    line = str(info)
    assert line.startswith("gpu: 2 x NVIDIA A100, memory growth on |")
    assert "WARNING: something to know" in line and "\n" not in line


# ------------------------------------------------------------------------ grading device


def _without_tensorflow_view(record: dict) -> dict:
    # "tensorflow_gpus" is added when another test already imported TensorFlow in this process
    return {key: value for key, value in record.items() if key != "tensorflow_gpus"}


def test_grading_device_honours_the_override():
    assert _without_tensorflow_view(grading_device({"COURSE_GRADING_DEVICE": "gpu:NVIDIA L4"})) == {
        "kind": "gpu", "count": 1, "names": ["NVIDIA L4"], "source": "COURSE_GRADING_DEVICE"}
    assert grading_device({"COURSE_GRADING_DEVICE": "gpu"})["kind"] == "gpu"
    cpu = grading_device({"COURSE_GRADING_DEVICE": "CPU"})
    assert cpu["kind"] == "cpu" and cpu["source"] == "COURSE_GRADING_DEVICE" and cpu["count"] >= 1
    wrong = grading_device({"COURSE_GRADING_DEVICE": "tpu"})
    assert wrong["kind"] == "unknown" and "COURSE_GRADING_DEVICE" in wrong["note"]


def test_grading_device_detects_this_machine():
    record = grading_device({})
    json.dumps(record)
    if nvidia_gpus_present():
        assert record["kind"] == "gpu" and record["count"] >= 1
    else:
        assert record == {**record, "kind": "cpu", "source": "cpu"} and record["count"] >= 1
        assert record["names"] and record["names"][0]


def test_cuda_visible_devices_hides_gpus(monkeypatch):
    import autograder.device as device
    monkeypatch.setattr(device, "_nvidia_gpus", lambda: ("NVIDIA A", "NVIDIA B", "NVIDIA C"))
    assert grading_device({})["names"] == ["NVIDIA A", "NVIDIA B", "NVIDIA C"]
    assert grading_device({"CUDA_VISIBLE_DEVICES": "2,0"})["names"] == ["NVIDIA C", "NVIDIA A"]
    hidden = grading_device({"CUDA_VISIBLE_DEVICES": "-1"})
    assert hidden["kind"] == "cpu" and "hidden by CUDA_VISIBLE_DEVICES" in hidden["note"]


def test_grading_reports_record_the_device(monkeypatch):
    from autograder.grading import environment
    monkeypatch.setenv("COURSE_GRADING_DEVICE", "gpu:NVIDIA T4")
    record = environment("none")
    assert record["device"] == "gpu" and record["device_info"]["names"] == ["NVIDIA T4"]
    assert {"grader_version", "python", "numpy", "platform", "isolation", "graded_at"} <= set(record)


def test_the_grader_does_not_import_tensorflow_to_find_the_device():
    code = ("import sys; from autograder.grading import environment; environment('none'); "
            "print('tensorflow' in sys.modules)")
    process = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr[-2000:]
    assert process.stdout.strip() == "False"


# ------------------------------------------------------------------------ the GPU runner's files


def _pin(name: str) -> str:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if line.lower().startswith(f"{name}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{name} is not pinned in requirements.txt")


def test_dockerfile_uses_the_pinned_tensorflow():
    text = DOCKERFILE.read_text()
    tensorflow = _pin("tensorflow")
    froms = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert froms == [f"tensorflow/tensorflow:{tensorflow}-gpu"]
    assert re.search(rf"^ARG TF_VERSION={re.escape(tensorflow)}$", text, re.MULTILINE)
    assert re.search(r'org\.opencontainers\.image\.version="\$\{RUNNER_VERSION\}"', text)
    assert re.search(r"^ARG RUNNER_VERSION=\d+\.\d+\.\d+$", text, re.MULTILINE)


def test_dockerfile_installs_requirements_txt_without_replacing_tensorflow():
    text = DOCKERFILE.read_text()
    assert re.search(r"^COPY requirements\.txt \S+", text, re.MULTILINE)
    install = re.search(r"pip install [^;]*-r (\S+)", text)
    assert install, "no pip install -r"
    assert "grep -v" in text and "^tensorflow" in text, "the tensorflow pin must be left out of the install"
    assert "--constraint" in text and "pip check" in text
    copies = re.findall(r"^COPY\s+(.+)$", text, re.MULTILINE)
    assert all(c.split()[0] in ("requirements.txt", "docker/gpu-runner/entrypoint.sh") for c in copies), copies
    assert re.search(r"^USER\s+(?!root|0\b)\S+", text, re.MULTILINE)
    assert "COURSE_DATA_DIR=/data" in text
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/course-runner"\]', text, re.MULTILINE)


def test_entrypoint_has_the_subcommands():
    text = ENTRYPOINT.read_text()
    assert ENTRYPOINT.stat().st_mode & 0o111, "entrypoint.sh must be executable"
    for command in ("validate)", "grade)", "prestage)"):
        assert command in text
    assert "validate-full" in text
    assert "autograder grade-class" in text
    assert "cnn_course.data fetch --all" in text
    process = subprocess.run(["bash", "-n", str(ENTRYPOINT)], capture_output=True, text=True)
    assert process.returncode == 0, process.stderr


def test_workflow_template_is_valid_and_runs_the_runner():
    text = WORKFLOW.read_text()
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "workflow_dispatch" in triggers and triggers["schedule"][0]["cron"]
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == ["self-hosted", "linux", "gpu"]
    assert "docker/gpu-runner/Dockerfile" in text
    assert "make validate-full" in text
    assert "DOES NOT RUN IN THIS PROJECT'S CI" in text.splitlines()[1]
    uploads = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact")]
    assert uploads and "nbval-report.xml" in uploads[0]["with"]["path"]
    assert "autograder-results" in uploads[0]["with"]["path"]


def test_makefile_has_the_gpu_targets():
    text = (REPO / "Makefile").read_text()
    recipe = re.search(r"^validate-full:.*\n((?:\t.*\n)+)", text, re.MULTILINE).group(1)
    assert "--nbval-current-env" in recipe and "tests/nbval_sanitize.cfg" in recipe
    assert "-m autograder demo" in recipe
    assert "COURSE_DATA_PROFILE=full" in text
    assert re.search(r"^gpu-image:\n\t.*docker build -f docker/gpu-runner/Dockerfile", text, re.MULTILINE)
