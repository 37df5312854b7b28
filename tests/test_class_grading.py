"""Grading a class: Dask with real parts (a scheduler and two worker processes on localhost), faults
that cost one student and never the class, a cache that is reused only when nothing that decides a
score changed, and a gradebook that always equals the grader's JSON."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.classroom import grade_all, record_in_gradebook, summary
from autograder.engines import DaskEngine, GradingTask, SerialEngine
from autograder.release import nbgrader_command, write_course_config
from autograder.submissions import build_submission
from conftest import REPO

ASSIGNMENT = "01_convolution_by_hand"
NOTEBOOK = "convolution_by_hand.ipynb"
WRONG_RELU = {"relu": "def relu(x):\n    return x\n"}


def _write(course: Path, student: str, content) -> Path:
    folder = course / "submitted" / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / NOTEBOOK
    if isinstance(content, (bytes, str)):
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    else:
        nbformat.write(content, path)
    (folder / "timestamp.txt").write_text("2026-11-20 17:00:00.000000 UTC")
    return path


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    # a release folder of its own: generate_assignment --force rewrites it while other tests read the committed one
    write_course_config(course, tmp_path / "release")
    nbgrader_command(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def _deeply_nested() -> str:
    return '{"cells": [], "metadata": ' + "[" * 100_000 + "]" * 100_000 + ', "nbformat": 4, "nbformat_minor": 5}'


def _source_is_a_number():
    notebook = build_submission(ASSIGNMENT)
    text = nbformat.writes(notebook)
    raw = json.loads(text)
    raw["cells"][3]["source"] = 42
    return json.dumps(raw)


def _duplicated_cell():
    notebook = build_submission(ASSIGNMENT)
    index = next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "relu")
    notebook.cells.insert(index + 1, nbformat.from_dict(json.loads(json.dumps(notebook.cells[index]))))
    return notebook


def _without_check_cell(target: str):
    notebook = build_submission(ASSIGNMENT)
    notebook.cells = [c for c in notebook.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") != f"check_{target}"]
    return notebook


def _gradebook_scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {}
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            scores[submission.student.id] = submission.score
        return scores


@pytest.fixture(scope="module")
def broken_class(tmp_path_factory):
    """A class of 01 with one good student, one with a mistake, and every broken shape of notebook."""
    course = _course(tmp_path_factory.mktemp("broken-class"))
    _write(course, "ada", build_submission(ASSIGNMENT))
    _write(course, "brook", build_submission(ASSIGNMENT, WRONG_RELU))
    _write(course, "nested", _deeply_nested())
    _write(course, "number", _source_is_a_number())
    _write(course, "twice", _duplicated_cell())
    _write(course, "nocheck", _without_check_cell("flatten"))
    _write(course, "zzz", build_submission(ASSIGNMENT))  # last in the alphabet: still recorded
    (course / "submitted" / "renamed" / ASSIGNMENT).mkdir(parents=True)
    (course / "submitted" / "renamed" / ASSIGNMENT / "my notebook.ipynb").write_text("{}")
    with DaskEngine(workers=2) as engine:
        run = grade_all(ASSIGNMENT, course, engine, progress=False)
    record_in_gradebook(course, ASSIGNMENT, run, force=False)
    return course, run


def test_a_broken_notebook_costs_only_its_student(broken_class):
    course, run = broken_class
    assert not run.gradebook_problems
    results = course / "autograder-results" / ASSIGNMENT
    graded = {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}
    assert set(graded) == {"ada", "brook", "nocheck", "zzz"}
    assert graded["ada"]["score"] == graded["zzz"]["score"] == graded["ada"]["max_score"]
    assert graded["brook"]["targets"]["relu"]["points"] == 0


def test_the_gradebook_equals_the_graders_json(broken_class):
    """Everyone graded is recorded, students after a broken one included, and the recorded score is
    the JSON's, also for a notebook whose locked check cell was deleted."""
    course, _ = broken_class
    recorded = _gradebook_scores(course)
    for path in (course / "autograder-results" / ASSIGNMENT).glob("*.json"):
        result = json.loads(path.read_text())
        assert recorded.get(path.stem) == pytest.approx(result["score"]), (path.stem, recorded)
    assert not {"nested", "number", "twice", "renamed"} & {s for s, v in recorded.items() if v}


def test_not_graded_lines_name_the_problem(broken_class):
    course, run = broken_class
    assert isinstance(run.results["ada"], dict)
    assert "nested too deeply" in run.results["nested"]
    assert "not a valid notebook" in run.results["number"]
    assert "'relu' appears 2 times" in run.results["twice"] and "delete the copy" in run.results["twice"]
    assert "no convolution_by_hand.ipynb" in run.results["renamed"] and "my notebook.ipynb" in run.results["renamed"]
    text = summary(run, ASSIGNMENT, course)
    assert "4 graded" in text and "4 not graded" in text and "not graded: twice: cell 'relu'" in text


def test_grade_exits_2_with_one_line_for_a_malformed_notebook(tmp_path):
    for name, content in (("nested", _deeply_nested()), ("number", _source_is_a_number())):
        path = tmp_path / f"{name}.ipynb"
        path.write_text(content)
        process = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(path)],
                                 capture_output=True, text=True, cwd=REPO, timeout=120)
        assert process.returncode == 2, process.stderr[-2000:]
        assert process.stderr.startswith("error: ") and "Traceback" not in process.stderr


def test_reruns_grade_only_what_changed_and_force_grades_everything(tmp_path):
    course = _course(tmp_path)
    for student in ("ada", "brook"):
        _write(course, student, build_submission(ASSIGNMENT))
    calls = []

    def counting(task):
        from autograder.engines import grade_task
        calls.append(task.student_id)
        return grade_task(task)

    with SerialEngine(counting) as engine:
        grade_all(ASSIGNMENT, course, engine, progress=False)
        assert sorted(calls) == ["ada", "brook"]
        grade_all(ASSIGNMENT, course, engine, progress=False)  # nothing changed
        assert sorted(calls) == ["ada", "brook"]
        _write(course, "brook", build_submission(ASSIGNMENT, WRONG_RELU))
        run = grade_all(ASSIGNMENT, course, engine, progress=False)
        assert sorted(calls) == ["ada", "brook", "brook"] and run.reused == {"ada"}
        grade_all(ASSIGNMENT, course, engine, force=True, progress=False)
        assert sorted(calls) == ["ada", "ada", "brook", "brook", "brook"]


def test_a_result_with_an_internal_error_or_another_profile_is_never_reused(tmp_path, monkeypatch):
    course = _course(tmp_path)
    _write(course, "ada", build_submission(ASSIGNMENT))
    with SerialEngine() as engine:
        grade_all(ASSIGNMENT, course, engine, progress=False)
        path = course / "autograder-results" / ASSIGNMENT / "ada.json"
        result = json.loads(path.read_text())
        result["grader_log"] = ["a check crashed"]
        path.write_text(json.dumps(result))
        assert grade_all(ASSIGNMENT, course, engine, progress=False).reused == set()
        assert grade_all(ASSIGNMENT, course, engine, progress=False).reused == {"ada"}
        from autograder.nbgrader_plugin import grading_context
        assert grading_context(ASSIGNMENT, "embedded", "s") != grading_context(ASSIGNMENT, "full", "s")
        assert grading_context(ASSIGNMENT, "embedded", "s") != grading_context(ASSIGNMENT, "embedded", "t")


def test_the_gradebook_records_this_runs_results_without_grading_them_again(tmp_path):
    """A result that a later run would not reuse (here the student's code exits mid-check) is still
    this run's: grade-class's nbgrader step records it as it is. A TA's own `nbgrader autograde`
    grades it afresh."""
    course = _course(tmp_path)
    _write(course, "exits", build_submission(ASSIGNMENT, {"relu": "import os\ndef relu(x):\n    os._exit(3)\n"}))
    with SerialEngine() as engine:
        run = grade_all(ASSIGNMENT, course, engine, progress=False)
    path = course / "autograder-results" / ASSIGNMENT / "exits.json"
    made = json.loads(path.read_text())
    assert made["sandbox_log"] and made["class_run"] == run.token
    record_in_gradebook(course, ASSIGNMENT, run, force=False)
    assert json.loads(path.read_text()) == made  # recorded, not graded a second time
    assert _gradebook_scores(course)["exits"] == pytest.approx(made["score"])
    nbgrader_command(course, "autograde", ASSIGNMENT, "--force")
    again = json.loads(path.read_text())
    assert "class_run" not in again and again["environment"]["graded_at"] >= made["environment"]["graded_at"]
    assert again["timing"] != made["timing"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, cwd=REPO, **kwargs)


@pytest.fixture
def cluster():
    """A scheduler and two worker processes on localhost, as on a grading cluster."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--dashboard-address", ":0"])
    workers = [_start(["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-nanny",
                       "--name", f"grader-{i}", "--dashboard-address", ":0"]) for i in range(2)]
    try:
        from dask.distributed import Client
        deadline = time.monotonic() + 60
        with Client(address, timeout="30s") as client:
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.monotonic() < deadline, "the workers did not connect"
                time.sleep(0.5)
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def _tasks(count: int) -> list[GradingTask]:
    from autograder.secret import course_secret
    tasks = []
    for i in range(count):
        notebook = build_submission(ASSIGNMENT, WRONG_RELU if i % 2 else None)
        tasks.append(GradingTask(ASSIGNMENT, f"student{i}", nbformat.writes(notebook).encode(),
                                 secret=course_secret(REPO), data_profile="embedded"))
    return tasks


def test_a_worker_killed_mid_class_costs_no_student(cluster):
    """Six submissions on two workers; one worker process is killed once the first result is in:
    its task runs again on the other worker, and every student gets the score of a serial run."""
    address, workers = cluster
    tasks = _tasks(6)
    with SerialEngine() as serial:
        expected = {task.student_id: result["score"] for task, result in serial.run(tasks[:2])}
    results = {}
    with DaskEngine(scheduler=address) as engine:
        for task, result in engine.run(tasks):
            results[task.student_id] = result
            if len(results) == 1:
                os.killpg(workers[0].pid, signal.SIGKILL)
    assert set(results) == {t.student_id for t in tasks}
    for student, result in results.items():
        assert "not_graded" not in result, result
        assert result["score"] == expected["student0" if int(student[-1]) % 2 == 0 else "student1"]


def test_a_grading_past_its_deadline_is_stopped_and_reported():
    """The sandbox's own limits allow 20 s per call; a whole grading has an outer deadline too."""
    from autograder.engines import grade_task
    from autograder.secret import course_secret
    hang = {"correlate2d": "def correlate2d(image, kernel):\n    while True:\n        pass\n"}
    task = GradingTask(ASSIGNMENT, "slow", nbformat.writes(build_submission(ASSIGNMENT, hang)).encode(),
                       secret=course_secret(REPO), data_profile="embedded", deadline_seconds=6)
    started = time.monotonic()
    result = grade_task(task)
    assert time.monotonic() - started < 40
    assert "deadline of 6 s" in result.get("not_graded", ""), result
    again = grade_task(GradingTask(ASSIGNMENT, "next", nbformat.writes(build_submission(ASSIGNMENT)).encode(),
                                   secret=course_secret(REPO), data_profile="embedded"))
    assert again["score"] == again["max_score"]  # the next grading in the same worker is not affected
