"""What hidden checks use: the student proxy, the reference, and expectation helpers.

A hidden check is a pytest test marked with the graded function or task it checks::

    @pytest.mark.target("conv2d")
    def test_stride_two_same_padding(student, reference):
        x, kernel = ...
        expect_array("conv2d(x, kernel, strides=2, padding='same') on x of shape ...",
                     student.call("conv2d", x, kernel, strides=2, padding="same"),
                     reference.conv2d(x, kernel, strides=2, padding="same"), rtol=1e-5, atol=1e-6)

``student.call`` runs the student's function in the sandbox and returns plain data
(or raises :class:`StudentFailure` with a message for the student). ``reference`` holds
the instructor's functions from the source notebook, run here, in the trusted process.
"""

from __future__ import annotations

import threading
import zlib

import numpy as np

from cnn_course.checks import CheckFailed, compare_arrays, compare_exact

from .sandbox.session import CallOutcome, StudentSession

_notes = threading.local()
_grading = threading.local()
_process_caches: dict[str, dict] = {}


def begin_grading(secret: bytes, case_seed: int) -> None:
    """Called by the grader before the hidden checks of one submission are imported."""
    _grading.secret, _grading.case_seed = secret, case_seed


def end_grading() -> None:
    _grading.secret = _grading.case_seed = None


def hidden_rng(label: str) -> np.random.Generator:
    """The random generator for a check module's hidden inputs: drawn per submission from the
    course secret and the submission's own digest, so one student's cases say nothing about
    another's, and re-grading the same submission gives the same cases. ``label`` keeps the
    streams of different modules apart. Keep the *shapes* of cases fixed and draw their values
    from this generator, so that every mistake in the catalogue is caught whatever the draw."""
    seed = getattr(_grading, "case_seed", None)
    if seed is None:
        raise RuntimeError("hidden_rng() is only available while a submission is being graded")
    return np.random.default_rng([seed, zlib.crc32(label.encode())])


def course_secret() -> bytes:
    """The course secret of the grading in progress (for grader-held test images)."""
    secret = getattr(_grading, "secret", None)
    if secret is None:
        raise RuntimeError("course_secret() is only available while a submission is being graded")
    return secret


def process_cache(name: str) -> dict:
    """A dict that outlives one grading in this process, for expensive *deterministic*
    reference values (e.g. what Keras says about a layer stack). Check modules themselves are
    re-imported for every grading, so their own module state is always fresh."""
    return _process_caches.setdefault(name, {})


def _record(note: str):
    if not hasattr(_notes, "items"):
        _notes.items = []
    _notes.items.append(note)


def session_timing(session: StudentSession) -> dict:
    """Where a worker's wall time went: its starts (importing the setup cell's libraries, running the
    cells) and the calls into it."""
    return {"starts": len(session.start_seconds), "start_seconds": round(sum(session.start_seconds), 2),
            "call_seconds": round(session.call_seconds, 2)}


def take_notes() -> list[str]:
    items = getattr(_notes, "items", [])
    _notes.items = []
    return items


def expect_array(label: str, got, expected, *, rtol: float, atol: float) -> None:
    _record(compare_arrays(label, got, expected, rtol=rtol, atol=atol))


def expect_exact(label: str, got, expected) -> None:
    _record(compare_exact(label, got, expected))


def expect(condition: bool, failure: str, success: str) -> None:
    """A check that is neither an array nor an exact value (a property of the code)."""
    if not condition:
        raise CheckFailed(failure)
    if success:
        _record(success)


class StudentFailure(Exception):
    """The student's code did not produce a value. ``status`` is error or timeout."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


CLEAN_WORKER_SECONDS = 120.0


class StudentProxy:
    # After a hang, or repeated crashes, a function's remaining checks fail at once:
    # waiting out every case would cost minutes and change nothing.
    MAX_CRASHES = 2

    def __init__(self, session: StudentSession, forbidden_reason: str = ""):
        self.session = session
        self.forbidden_reason = forbidden_reason
        self.given_up: dict[str, CallOutcome] = {}
        self.crashes: dict[str, int] = {}
        self._clean_session: StudentSession | None = None
        self.clean_timing: dict = {}  # where the clean worker's time went (grading.py puts it in the result)
        self._warming: threading.Thread | None = None
        self._saved: dict = {}

    def outcome(self, function: str, *args, **kwargs) -> CallOutcome:
        if function in self.given_up:
            earlier = self.given_up[function]
            return CallOutcome(earlier.status, message=f"{earlier.message}; skipped the remaining cases")
        outcome = self.session.call(function, *args, **kwargs)
        if outcome.status == "timeout":
            self.given_up[function] = outcome
        elif outcome.status in ("crashed", "protocol"):  # both cost a restart of the worker
            self.crashes[function] = self.crashes.get(function, 0) + 1
            if self.crashes[function] >= self.MAX_CRASHES:
                self.given_up[function] = outcome
        return outcome

    def call(self, function: str, *args, **kwargs):
        """Call the student's ``function``; return its value or raise StudentFailure.

        ``then="keras_model_summary"`` (an inspector in ``sandbox/inspectors.py``) turns
        the returned object into plain data inside the sandbox.
        """
        outcome = self.outcome(function, *args, **kwargs)
        if outcome.status == "ok":
            return None if outcome.returned_none else outcome.value
        raise StudentFailure(*self.explain(function, outcome))

    def cpu_seconds(self, function: str, calls: list[tuple]) -> float:
        """CPU time of one call of the student's ``function``, as the kernel counts it for the
        sandbox (never as the student's process reports it): the fewest over ``calls`` (argument
        tuples; give each different values of the same shape, so that a cache cannot make a
        repetition free), less the fewest of a call that only receives the same arguments."""
        def timed(session, name, args, then=None):
            outcome = session.call(name, *args, then=then)
            if outcome.status != "ok":
                raise StudentFailure(*self.explain(function, outcome))
            if outcome.cpu_seconds is None:
                raise RuntimeError("this machine cannot measure the sandbox's CPU time")
            return outcome.cpu_seconds
        spent = min(timed(self.session, function, args) for args in calls)
        # The overhead is measured in the clean worker: the student's process could make its own slower.
        clean = self._clean()
        overhead = min(timed(clean, None, args, then="receive_only") for args in calls)
        return max(0.0, spent - overhead)

    def inspect(self, inspector: str, *args, what: str = "your saved model", **kwargs):
        """Run an inspector alone in the sandbox (e.g. predict with a handed-in model file)."""
        outcome = self.session.call(None, *args, then=inspector, **kwargs)
        if outcome.status == "ok":
            return outcome.value
        status, message = self.explain(what, outcome)
        raise StudentFailure(status, message)

    def describe(self, function: str, *args, inspector: str = "keras_model_description", inspector_args: tuple = ()):
        """Call the student's ``function`` (a builder); the Keras object it returns is saved as a
        ``.keras`` file in the student's worker, and described (``inspector``, with ``inspector_args``)
        in a clean worker that runs none of the student's cells, after loading the file in safe mode.
        The student's code cannot touch the describer. One build per builder and arguments."""
        key = (function, repr(args))
        if key not in self._saved:
            try:
                self._saved[key] = self._saved_file(function, self.call(function, *args, then="keras_file_bytes"))
            except StudentFailure as failure:
                self._saved[key] = failure
        if isinstance(self._saved[key], StudentFailure):
            raise self._saved[key]
        return self._in_clean_worker(("from_keras_file", self._saved[key], inspector, *inspector_args),
                                     what=f"the model {function}() returned")

    def _saved_file(self, function: str, data) -> np.ndarray:
        """The bytes the student's worker says a returned model saves to, checked here: the student's
        process may send anything (up to the channel's 512 MB), and what is kept is kept for the whole
        grading and sent on to the clean worker, which cannot write a file larger than its file size
        limit anyway."""
        from .sandbox.inspectors import MAX_KERAS_FILE_BYTES
        if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 1):
            raise StudentFailure("error", f"the model {function}() returned could not be saved as a .keras file.")
        limit = min(MAX_KERAS_FILE_BYTES, self.session.config.limits.file_bytes)
        if data.size > limit:
            raise StudentFailure("error", f"the model {function}() returned takes {data.size / 2**20:.0f} MB when "
                                          f"saved; the limit is {limit >> 20} MB.")
        return data

    def warm_clean_worker(self) -> None:
        """Start the clean worker and import Keras in it now, beside the student's worker loading the
        cells, instead of when the first model is described (a few seconds saved per grading)."""
        def warm():
            try:
                self._clean_session = StudentSession([], self.session.config)
                self._clean_session.call(None, then="warm_up_keras", timeout=CLEAN_WORKER_SECONDS)
            except Exception:  # the real call will start it again and report what went wrong
                pass
        self._warming = threading.Thread(target=warm, daemon=True)
        self._warming.start()

    def _clean(self) -> StudentSession:
        """The sandbox worker of this grading that runs none of the student's cells."""
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        if self._clean_session is None:
            self._clean_session = StudentSession([], self.session.config)
        return self._clean_session

    def _in_clean_worker(self, call: tuple, what: str, timeout: float | None = None):
        self._clean()
        inspector, *args = call
        # The clean worker imports Keras on its first call: allow for that, whatever the per-call limit.
        limit = max(timeout or 0.0, self.session.config.limits.wall_seconds_per_call, CLEAN_WORKER_SECONDS)
        outcome = self._clean_session.call(None, *args, then=inspector, timeout=limit)
        if outcome.status == "ok":
            return outcome.value
        status, message = self.explain(what, outcome)
        raise StudentFailure(status, message)

    def in_clean_worker(self, inspector: str, *args, what: str, timeout: float | None = None):
        """Run ``inspector`` with ``args`` in the clean worker (it runs none of the student's cells), e.g. on
        the bytes of a model file the student's worker made: ``saved_bytes`` checks them first."""
        return self._in_clean_worker((inspector, *args), what=what, timeout=timeout)

    def saved_bytes(self, data, what: str) -> np.ndarray:
        """Bytes of a ``.keras`` file that the student's worker says a model saves to, checked here as
        ``describe`` checks them (a 1-D uint8 array within the sandbox's file size limit)."""
        return self._saved_file(what, data)

    def inspect_handed_in(self, inspector: str, name: str, *args, what: str = "your saved model", **kwargs):
        """Run an inspector on the handed-in file ``name`` (its first argument) in a sandbox worker
        of its own that runs none of the student's cells, so that the student's code cannot change
        what the file predicts: the result depends on the file alone. Call ``artifact`` first for a
        clear message when the file is missing."""
        clean = self._clean()
        outcome = clean.call(None, clean.artifact_path(name), *args,
                                           then=inspector, **kwargs)
        if outcome.status == "ok":
            return outcome.value
        status, message = self.explain(what, outcome)
        raise StudentFailure(status, message)

    def predict_handed_in(self, name: str, images: np.ndarray, *, chunk: int, timeout: float,
                          singles: int = 8, what: str = "") -> tuple[np.ndarray, float]:
        """Predict ``images`` with the handed-in file ``name`` in the clean worker, in an order the
        student cannot know (a permutation drawn per submission: batches mix the classes), then put
        the predictions back in the images' order. Also predict ``singles`` images one at a time and
        return the largest difference from their batch predictions: a model whose answer for an
        image depends on the other images of its batch shows a large one."""
        order = hidden_rng(f"prediction order {name}").permutation(len(images))
        what = what or f"Loading {name} and predicting"
        chunks = [self.inspect_handed_in("predict_saved_model_batches", name, images[order[start:start + chunk]],
                                         what=what, timeout=timeout)
                  for start in range(0, len(images), chunk)]
        shapes = {tuple(np.shape(c)[1:]) for c in chunks}
        if len(shapes) != 1:
            raise StudentFailure("error", f"{name} predicted arrays of different shapes {sorted(shapes)}.")
        shuffled = np.concatenate([np.asarray(c, dtype=np.float64) for c in chunks])
        if len(shuffled) != len(images):
            raise StudentFailure("error", f"{name} predicted {len(shuffled)} rows for {len(images)} images.")
        predictions = np.empty_like(shuffled)
        predictions[order] = shuffled
        difference = 0.0
        for index in order[:singles]:
            alone = np.asarray(self.inspect_handed_in("predict_saved_model_batches", name, images[index:index + 1],
                                                      what=what, timeout=timeout), dtype=np.float64)
            if alone.shape[1:] != predictions.shape[1:]:
                return predictions, float("inf")
            difference = max(difference, float(np.max(np.abs(alone[0] - predictions[index]))))
        return predictions, difference

    def list_tree(self, inside: str, what: str = "the folder") -> dict:
        """List a folder of the student's sandbox from outside its process (``sandbox/outside.py``):
        never following a link, and unchangeable by the student's code. Only folders under the
        sandbox's scratch space are listed."""
        from .sandbox.outside import ListingError, list_tree
        process = self.session.process
        scratch = str(process.scratch) if process is not None else ""
        if not scratch or not (inside == scratch or inside.startswith(scratch + "/")):
            raise StudentFailure("error", f"{what} is not where the grader created it.")
        try:
            root = process.outside_root()
        except RuntimeError:  # the student's process stopped, and its scratch space went with it
            raise StudentFailure("error", f"{what} could not be listed: the process running your code had "
                                          "stopped (did it call exit() or os._exit()?)") from None
        try:
            return list_tree(root, inside)
        except ListingError as error:
            raise StudentFailure("error", f"{what} could not be listed: {error}") from None

    def handed_in_layers(self, name: str, what: str = "") -> list:
        """The layers of the handed-in file ``name``, described in the clean worker; they depend on the
        file alone, so they are kept per file content for the life of the grading process."""
        import hashlib
        local = next((p for p in self.session.config.artifacts if p.name == name), None)
        key = hashlib.sha256(local.read_bytes()).hexdigest() if local is not None else None
        cache = process_cache("handed-in layers")
        if key is None or key not in cache:
            layers = self.inspect_handed_in("saved_model_layers", name, what=what or f"Loading {name}", timeout=120.0)
            if key is None:
                return layers
            cache[key] = layers
        return cache[key]

    def close(self) -> None:
        """Stop the worker that ``inspect_handed_in`` started, if any."""
        if self._warming is not None:
            self._warming.join()
            self._warming = None
        if self._clean_session is not None:
            self._clean_session.close()
            self.clean_timing = session_timing(self._clean_session)
            self._clean_session = None

    def artifact(self, name: str, how_to_make: str = "") -> str:
        """The in-sandbox path of a file handed in with the notebook; fails clearly if missing."""
        if name not in {path.name for path in self.session.config.artifacts}:
            raise StudentFailure("error", f"{name} is missing from your submission. {how_to_make}".strip())
        return self.session.artifact_path(name)

    def explain(self, function: str, outcome: CallOutcome) -> tuple[str, str]:
        status = outcome.status
        if status == "error" and outcome.while_inspecting:
            return "error", (f"{function} returned something the grader could not use: {outcome.message}")
        if status == "error":
            if outcome.error_type == "NotImplementedError":
                return "error", (f"{function} still raises NotImplementedError: replace the placeholder "
                                 "`raise NotImplementedError` with your code.")
            text = f"{function} raised {outcome.message}"
            if outcome.traceback:
                text += f"\nWhere, in your code:\n{outcome.traceback.rstrip()}"
            return "error", text
        if status == "missing":
            text = (f"{function} is not defined when the grader runs your solution cells. The grader runs "
                    f"only the setup cell and your solution cells, so {function} must be defined in its "
                    "own solution cell (do not delete that cell or paste its code into a new one).")
            report = self.session.cell_reports.get(function)
            if report is not None and report.status != "ok":
                text += f" Running the cell for {function} failed: {report.message}"
            return "error", text
        if status == "forbidden":
            return "error", f"{function} uses {outcome.library}. {self.forbidden_reason}".strip()
        if status == "timeout":
            return "timeout", (f"{function} did not return within the time limit ({outcome.message}). "
                               "Look for an infinite loop, or a far slower algorithm than needed.")
        if status == "crashed":
            return "error", f"{function} stopped the grader's worker: {outcome.message}."
        if status == "unsendable":
            return "error", (f"{function} returned a value the grader cannot read ({outcome.message}). "
                             "Return a NumPy array or a plain number.")
        return "error", f"{function} answered in a way the grader cannot read ({outcome.message})."


def first_layer_difference(got: list, expected: list) -> str | None:
    """Where two layer stacks (``describe_layer_stack``) first differ in type, output shape or number
    of parameters, in words; None when they agree."""
    def text(layer):
        shape = layer.get("output_shape")
        shape = f", output {tuple(shape[1:])}" if shape else ""
        return f"{layer['type']}{shape}, {layer['params']:,} parameters"

    for index, (mine, theirs) in enumerate(zip(got, expected)):
        if (mine["type"], mine.get("output_shape"), mine["params"]) != \
                (theirs["type"], theirs.get("output_shape"), theirs["params"]):
            return f"layer {index + 1} is {text(mine)}; expected {text(theirs)}"
    if len(got) > len(expected):
        return f"{len(got)} layers instead of {len(expected)}: {text(got[len(expected)])} is not expected"
    if len(got) < len(expected):
        return f"{len(got)} layers instead of {len(expected)}: {text(expected[len(got)])} is missing"
    return None


__all__ = ["CheckFailed", "StudentFailure", "StudentProxy", "expect", "expect_array", "expect_exact",
           "first_layer_difference", "hidden_rng", "take_notes"]
