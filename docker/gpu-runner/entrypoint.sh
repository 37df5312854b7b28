#!/usr/bin/env bash
# Entry point of the GPU grading runner image (docker/gpu-runner/README.md).
#
#   validate                 fetch or verify the data, run every solution notebook under nbval
#                            on the full profile, then grade the demo class (make validate-full)
#   grade ASSIGNMENT [ARGS]  grade the class in $COURSE_DIR (python -m autograder grade-class);
#                            ARGS go to grade-class, e.g. --no-nbgrader
#   prestage                 download and verify every data file into $COURSE_DATA_DIR
#   info                     what the runner sees: device, TensorFlow, sandbox, data
#   help                     this text
#   anything else            runs as a command, e.g. `bash`
#
# Environment: COURSE_REPO (/workspace), COURSE_DIR (/course), COURSE_DATA_DIR (/data),
# WORKERS (default: all cores), VALIDATE_OUT (reports, default build/validate-full in the
# repository), COURSE_REQUIRE_GPU=1 to fail instead of running on the CPU when TensorFlow
# sees no GPU.
set -euo pipefail

REPO="${COURSE_REPO:-/workspace}"
COURSE_DIR="${COURSE_DIR:-/course}"
WORKERS="${WORKERS:-$(nproc)}"

die() {
    echo "course-runner: $*" >&2
    exit 2
}

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

ensure_home() {
    # With `docker run --user UID:GID` there may be no writable home; Jupyter, Keras and
    # matplotlib need one.
    if [ -z "${HOME:-}" ] || [ ! -w "${HOME}" ]; then
        HOME="$(mktemp -d -t course-home.XXXXXX)"
        export HOME
    fi
}

need_repo() {
    if [ ! -f "${REPO}/Makefile" ] || [ ! -d "${REPO}/cnn_course" ] || [ ! -d "${REPO}/autograder" ]; then
        die "no course repository at ${REPO}: mount it, e.g. docker run -v \"\$PWD:${REPO}\" ..."
    fi
    cd "${REPO}"
}

runtime_report() {
    # One line on what TensorFlow sees, one on what the grader records. Exits non-zero when
    # COURSE_REQUIRE_GPU=1 and TensorFlow sees no GPU.
    python - <<'PYTHON'
import json
import os
import sys

from autograder.device import grading_device
from cnn_course.runtime import configure

info = configure()
print(f"runner {os.environ.get('COURSE_RUNNER_VERSION', '?')}: {info}", flush=True)
print("grading device:", json.dumps(grading_device()), flush=True)
if os.environ.get("COURSE_REQUIRE_GPU") == "1" and info.device != "gpu":
    reasons = "; ".join(info.warnings) or "no NVIDIA GPU visible (was the container started with --gpus all?)"
    sys.exit(f"COURSE_REQUIRE_GPU=1 but TensorFlow sees no GPU: {reasons}")
PYTHON
}

sandbox_report() {
    local level
    level="$(python -c 'from autograder.sandbox.launcher import available_isolation; print(available_isolation())')"
    echo "sandbox isolation: ${level}"
    if [ "${level}" = "none" ]; then
        echo "course-runner: WARNING: the sandbox cannot isolate student code in this container; every" >&2
        echo "  report will say NOT ISOLATED. See docker/gpu-runner/README.md, 'Sandbox inside the container'." >&2
    fi
}

cmd_validate() {
    need_repo
    runtime_report
    sandbox_report
    # The image's Python already has the pinned packages: no .venv (VALIDATE_DEPS empty), and
    # never a .venv that a mounted working copy may hold.
    local python
    python="$(command -v python)"
    local args=(validate-full VALIDATE_PY="${python}" VALIDATE_BIN="$(dirname "${python}")" VALIDATE_DEPS=
                WORKERS="${WORKERS}")
    if [ -n "${VALIDATE_OUT:-}" ]; then
        args+=(VALIDATE_OUT="${VALIDATE_OUT}")
    fi
    make -C "${REPO}" "${args[@]}"
}

cmd_grade() {
    [ $# -ge 1 ] || die "usage: grade ASSIGNMENT [grade-class options], e.g. grade 01_convolution_by_hand"
    need_repo
    [ -f "${COURSE_DIR}/nbgrader_config.py" ] \
        || die "no nbgrader course directory at ${COURSE_DIR}: mount it, e.g. -v /srv/course:${COURSE_DIR}"
    [ -d "${COURSE_DIR}/submitted" ] \
        || die "nothing collected in ${COURSE_DIR}/submitted: run nbgrader collect (or zip_collect) first"
    runtime_report
    sandbox_report
    local assignment="$1"
    shift
    exec python -m autograder grade-class "${assignment}" --course "${COURSE_DIR}" --workers "${WORKERS}" "$@"
}

cmd_prestage() {
    need_repo
    python -m cnn_course.data fetch --all
    python -m cnn_course.data verify --all
    echo "Data pre-staged in ${COURSE_DATA_DIR:-the default cache}."
}

cmd_info() {
    need_repo
    runtime_report
    sandbox_report
    python -m cnn_course.data info
}

main() {
    ensure_home
    local command="${1:-help}"
    if [ $# -gt 0 ]; then
        shift
    fi
    case "${command}" in
        validate) cmd_validate "$@" ;;
        grade) cmd_grade "$@" ;;
        prestage) cmd_prestage "$@" ;;
        info) cmd_info "$@" ;;
        help | -h | --help) usage ;;
        *) exec "${command}" "$@" ;;
    esac
}

main "$@"
