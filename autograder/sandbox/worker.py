"""The process that runs student code, inside the sandbox.

It knows nothing secret: it receives the student's cells and, one call at a time, the
inputs to call a student function with; it answers with plain data. Hidden checks,
reference solutions and scores stay in the grader's process.

Usage (by the launcher): ``python -E -s worker.py REQUEST_FD RESPONSE_FD``.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import time
import traceback
import types

import numpy as np

import protocol

MAX_TRACEBACK_CHARS = 2000


class ForbiddenLibraryError(RuntimeError):
    """Raised when graded code touches a library the assignment forbids."""


class _ForbiddenName:
    """Stands for anything inside a forbidden library: using it raises."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attribute):
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        return _ForbiddenName(f"{self._name}.{attribute}")

    def __call__(self, *args, **kwargs):
        raise ForbiddenLibraryError(self._name)

    def __repr__(self):
        return f"<forbidden in this assignment: {self._name}>"


class _ForbiddenModule(types.ModuleType):
    def __getattr__(self, attribute):
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        return _ForbiddenName(f"{self.__name__}.{attribute}")


class _ForbiddenLibraries(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes forbidden libraries importable as stubs that fail when used.

    An import at the top of a cell then still succeeds, so only the function that
    actually uses the library fails, with a message that names it.
    """

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.names:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _ForbiddenModule(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def _skip_shell_lines(source: str) -> str:
    """IPython magics and shell escapes are not Python; the grader skips them."""
    if source.lstrip().startswith("%%"):
        return ""
    lines = source.split("\n")
    return "\n".join("pass  # skipped by the grader" if line.lstrip().startswith(("%", "!")) else line
                     for line in lines)


def _student_traceback(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith("<cell")]
    text = "".join(traceback.format_list(frames)) + "".join(
        traceback.format_exception_only(type(error), error))
    return text[-MAX_TRACEBACK_CHARS:]


def _error_header(error: BaseException) -> dict:
    if isinstance(error, ForbiddenLibraryError):
        return {"status": "forbidden", "library": str(error)}
    message = "".join(traceback.format_exception_only(type(error), error)).strip()
    return {"status": "error", "error_type": type(error).__name__,
            "message": message[:MAX_TRACEBACK_CHARS], "traceback": _student_traceback(error)}


def _fingerprint(values) -> list:
    return [hash((a.shape, a.dtype.str, a.tobytes())) if isinstance(a, np.ndarray) else None
            for a in values]


class Worker:
    def __init__(self, requests, responses):
        self.requests = requests
        self.responses = responses
        self.namespace = {"__name__": "__main__", "__builtins__": __builtins__}

    def send(self, header, value=None):
        _flush_student_output()
        protocol.write_frame(self.responses, header, value)

    def run_cells(self, cells):
        for cell in cells:
            self.send({"event": "cell_started", "cell": cell["id"]})
            started = time.perf_counter()
            try:
                code = compile(_skip_shell_lines(cell["source"]), f"<cell {cell['id']}>", "exec")
                exec(code, self.namespace)
                outcome = {"status": "ok"}
            except BaseException as error:  # SystemExit and KeyboardInterrupt too
                outcome = _error_header(error)
            outcome.update(event="cell_finished", cell=cell["id"],
                           seconds=time.perf_counter() - started)
            self.send(outcome)
        defined = sorted(k for k, v in self.namespace.items() if callable(v) and not k.startswith("_"))
        self.send({"event": "ready", "defined": defined})

    def call(self, request, arguments):
        name = request.get("function")
        args, kwargs, then_args = (list(arguments) + [[]])[:3]
        inspector = None
        if request.get("then"):
            import inspectors  # copied next to this file; imports Keras only when used
            inspector = inspectors.INSPECTORS.get(request["then"])
            if inspector is None:
                self.send({"status": "error", "error_type": "GraderError",
                           "message": f"unknown inspector {request['then']!r}"})
                return
        if name is None:
            function = inspector
            inspector = None
        else:
            function = self.namespace.get(name)
        if function is None or not callable(function):
            self.send({"status": "missing", "function": name})
            return
        if any(isinstance(v, dict) for v in list(args) + list(kwargs.values())):
            import inspectors  # Keras models sent as .keras files (assignment 06) become models again
            try:
                args, kwargs = inspectors.revive_keras_arguments(args, kwargs)
            except BaseException as error:
                header = _error_header(error)
                header["while_inspecting"] = True
                self.send(header)
                return
        # Self-reported, like everything this process says: it only serves the advice that a
        # function changed its inputs; the grader decides nothing else on it.
        before = _fingerprint(args) + _fingerprint(kwargs.values())
        started = time.perf_counter()
        try:
            result = function(*args, **kwargs)
        except BaseException as error:
            self.send(_error_header(error))
            return
        if inspector is not None:
            try:
                result = inspector(result, *then_args)
            except BaseException as error:
                header = _error_header(error)
                header["while_inspecting"] = True
                self.send(header)
                return
        seconds = time.perf_counter() - started
        after = _fingerprint(args) + _fingerprint(kwargs.values())
        header = {"status": "ok", "seconds": seconds,
                  "modified_arguments": [i for i, (a, b) in enumerate(zip(before, after)) if a != b]}
        if result is None:
            header["returned_none"] = True
        try:
            self.send(header, result)
        except protocol.ProtocolError as error:
            self.send({"status": "unsendable", "message": str(error)})

    def serve(self):
        header, value = protocol.read_frame(self.requests)
        if header.get("op") != "init":
            return
        if header.get("forbidden_modules"):
            sys.meta_path.insert(0, _ForbiddenLibraries(header["forbidden_modules"]))
        self.run_cells(value)
        while True:
            try:
                header, value = protocol.read_frame(self.requests)
            except EOFError:
                return
            if header.get("op") == "call":
                self.call(header, value)
            elif header.get("op") == "exit":
                return


def _flush_student_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the student may have replaced or closed it
            pass


def main():
    request_fd, response_fd = int(sys.argv[1]), int(sys.argv[2])
    requests = os.fdopen(request_fd, "rb", buffering=0)
    responses = os.fdopen(response_fd, "wb", buffering=0)
    Worker(requests, responses).serve()
    # Leave without running student atexit handlers or finalisers.
    _flush_student_output()
    os._exit(0)


if __name__ == "__main__":
    main()
