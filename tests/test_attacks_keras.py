"""Attack catalogue for assignments 03 and 04: trained models and the folders a student's function writes.

What a student might try against the grader's trust design for these two assignments
(docs/THREAT_MODEL.md, "Assignments 03 and 04"), and what it gains. Each test's docstring says what
the student tries and what the grader does. The attacks on ``make_subset``'s folders are run first
on their own, in a sandbox session with a small cell (no Keras, a second each), where the grader's
listing (``StudentProxy.list_tree``) can be hammered; the attacks on models are graded for real:
one submission carries at most one attack per graded function, the functions left honest are the
witnesses that nothing else moved, and the handed-in files are made once and cached under
COURSE_DATA_DIR (``autograder.submissions.cached_model_file``, next to the mutant catalogues' files).

Everything here needs namespaces (the listing reads the sandbox's file system through its init
process), so it is skipped at the isolation level ``none``.
"""

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.assignments import load_assignment
from autograder.grading import sandbox_config
from autograder.harness import StudentFailure, StudentProxy
from autograder.sandbox import launcher
from autograder.sandbox.launcher import Limits
from autograder.sandbox.session import StudentSession
from autograder.secret import secret_path

REPO = Path(__file__).resolve().parents[1]
MNIST = "03_mnist_convnet"
DOGS = "04_small_data_convnets"

ISOLATION = launcher.available_isolation()
isolated_only = pytest.mark.skipif(ISOLATION == "none", reason="this machine allows no namespaces: at level "
                                   "'none' the grader claims only limits and cleanup (reports say NOT ISOLATED)")
pytestmark = isolated_only


# =========================================================================================
# 1. make_subset's folders, listed by the grader from outside the student's process (claim 3)
# =========================================================================================

def _listing_session(source: str) -> StudentSession:
    """A sandbox like assignment 04's, running ``source`` after NumPy: the student's side of a listing."""
    config = sandbox_config(load_assignment(DOGS), [secret_path(REPO)])
    config.limits = Limits(wall_seconds_per_call=20, wall_seconds_startup=60)
    return StudentSession([{"id": "setup", "source": "import numpy as np"}, {"id": "attack", "source": source}],
                          config)


def _fake_tree(proxy: StudentProxy) -> str:
    """What the grader writes before calling make_subset: a small folder in the sandbox's scratch."""
    return proxy.inspect("write_file_tree", {"PetImages/Cat/0.jpg": np.arange(40, dtype=np.uint8),
                                             "PetImages/Dog/0.jpg": np.arange(50, dtype=np.uint8)})


def _lister(proxy: StudentProxy, root: str, seconds: float, outcomes: dict) -> threading.Thread:
    """List ``root`` again and again for ``seconds``, counting what each listing did."""
    def run():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                proxy.list_tree(root)
                key = "listed"
            except StudentFailure as failure:
                key = "refused" + (": changed while listed" if "changed while the grader listed it" in failure.message
                                   else f": {failure.message}")
            except BaseException as error:  # anything else would be the grader's internal error
                key = f"{type(error).__name__}: {error}"[:120]
            outcomes[key] = outcomes.get(key, 0) + 1
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


SWAPPER = '''
import ctypes
import os
import time

_libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD, RENAME_EXCHANGE = -100, 2


def start_swapping(root, host_fifo, seconds):
    """Eight folders, each swapped back and forth (renameat2, atomically) with a FIFO or with a link
    to a FIFO of the grading machine, by a child process that outlives this call."""
    pairs = []
    for i in range(8):
        folder = os.path.join(root, f"folder{i}")
        os.mkdir(folder)
        open(os.path.join(folder, "cat.0.jpg"), "wb").close()
        other = os.path.join(root, f"other{i}")
        if i % 2:
            os.mkfifo(other)
        else:
            os.symlink(host_fifo, other)
        pairs.append((folder.encode(), other.encode()))
    if os.fork() == 0:
        end = time.time() + seconds
        while time.time() < end:
            for a, b in pairs:
                _libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
        os._exit(0)
    return True
'''


def test_a_folder_swapped_for_a_fifo_or_a_link_while_the_grader_lists_gains_nothing(tmp_path):
    """The student's make_subset leaves a process behind that swaps, over and over, folders of its output
    with FIFOs and with links to a FIFO of the grading machine (``renameat2(RENAME_EXCHANGE)``), hoping
    the grader checks an entry while it is a folder and opens it once it has become the FIFO or the link.
    ``os.fwalk``, which the listing used, does exactly that: it opens each folder it has checked with
    plain ``O_RDONLY``, so a FIFO swapped in blocked the grading for good (no time limit covers the
    grader's own listing), and a link swapped in was followed to the grader's file system. Now each
    folder is opened with ``O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK`` and must be the one that was checked:
    a listing that meets the swap fails plainly ("changed while the grader listed it"), the others list
    the tree as it was; nothing blocks, and the machine's FIFO is never opened."""
    host_fifo = tmp_path / "fifo-of-the-grading-machine"
    os.mkfifo(host_fifo)
    opened = {}

    def wait_for_a_reader():  # returns only when someone opens the FIFO for reading
        descriptor = os.open(host_fifo, os.O_WRONLY)
        opened.setdefault("by", "the grader")
        os.close(descriptor)

    writer = threading.Thread(target=wait_for_a_reader, daemon=True)
    writer.start()
    with _listing_session(SWAPPER) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("start_swapping", root, str(host_fifo), 10.0).value is True
        outcomes = {}
        lister = _lister(proxy, root, 8.0, outcomes)
        lister.join(30)
        hung = lister.is_alive()
        opened.setdefault("by", "nobody")
        os.close(os.open(host_fifo, os.O_RDONLY | os.O_NONBLOCK))  # let the writer go
        writer.join(5)
    assert not hung, f"the grader's listing blocked (outcomes so far: {outcomes})"
    assert opened["by"] == "nobody", "the grader opened a FIFO of the grading machine through a link"
    assert set(outcomes) <= {"listed", "refused: changed while listed"}, outcomes
    assert outcomes.get("listed", 0) > 10, outcomes


CHURN = '''
import os
import time


def start_churning(root, seconds):
    """A child process that creates and deletes files, folders and links under root, as fast as it can."""
    if os.fork() == 0:
        end = time.time() + seconds
        while time.time() < end:
            for i in range(40):
                path = os.path.join(root, f"churn{i}")
                if i % 3 == 0:
                    os.mkdir(path)
                    os.rmdir(path)
                elif i % 3 == 1:
                    os.symlink("/etc", path)
                    os.unlink(path)
                else:
                    open(path, "wb").close()
                    os.unlink(path)
        os._exit(0)
    return True


def exit_soon(root):
    """Return at once, and stop the process running the student's code a moment later."""
    import threading
    threading.Timer(0.3, os._exit, (0,)).start()
    return True
'''


def test_entries_that_vanish_while_the_grader_lists_are_the_students_error():
    """A process the student left running creates and deletes files, folders and links in the output
    while the grader lists it, and the student's process stops right after make_subset returns (its
    scratch space, a tmpfs of its namespace, goes with it). Each made the listing raise something other
    than its own ListingError (FileNotFoundError from a stat, EINVAL from reading a link that had become
    a file, RuntimeError for a sandbox whose init was gone): an internal error of the grader ("your TA
    will regrade"). Now a listing that meets a change fails plainly, as the student's error."""
    with _listing_session(CHURN) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("start_churning", root, 6.0).value is True
        outcomes = {}
        _lister(proxy, root, 5.0, outcomes).join(30)
        assert set(outcomes) <= {"listed", "refused: changed while listed"}, outcomes
        assert outcomes.get("refused: changed while listed", 0) > 0, outcomes
        assert session.call("exit_soon", root).value is True
        time.sleep(2)
        with pytest.raises(StudentFailure, match="could not be listed"):
            proxy.list_tree(root)


SPARSE = '''
import os


def make_sparse_files(root, count):
    """count files of 64 MB each (the sandbox's file size limit) that hold nothing: no room taken."""
    for i in range(count):
        with open(os.path.join(root, f"cat.{i}.jpg"), "wb") as handle:
            handle.truncate(64 << 20)
    return True
'''


def test_sparse_files_cannot_keep_the_grader_hashing():
    """make_subset writes 1,990 sparse files of 64 MB (truncate: no room taken in the 128 MB scratch,
    within the 64 MB file size limit), 127 GB of zeros that the grader's listing would hash: about two
    minutes of the grader's own CPU per listing, outside every limit of the sandbox, and
    test_make_subset lists seven times. Now a listing reads at most 256 MB of files in all, then fails
    as the student's error."""
    with _listing_session(SPARSE) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("make_sparse_files", root, 1990).value is True
        started = time.monotonic()
        with pytest.raises(StudentFailure, match="more than 256 MB in all"):
            proxy.list_tree(root)
        assert time.monotonic() - started < 5


NOT_UTF8 = '''
import os


def write_names_that_are_no_utf8(root):
    os.makedirs(os.path.join(root, "cats_vs_dogs_small", "train", "cats"))
    folder = os.path.join(root, "cats_vs_dogs_small", "train", "cats").encode()
    open(folder + b"/cat.\\xff\\xfe.jpg", "wb").close()
    os.symlink(b"/etc/\\xc3\\x28", folder + b"/link-\\xed\\xa0\\x80")
    return True
'''


def test_file_names_that_are_no_utf8_reach_the_report_printable():
    """make_subset writes a file and a link whose names (and the link's target) are bytes that are no
    UTF-8. Python hands such names over as lone surrogates, which went into the listing and, through
    the message that names unexpected files, into the result: what `grade` prints and the feedback
    notebook could not encode them. Now the listing writes those bytes as \\xNN."""
    with _listing_session(NOT_UTF8) as session:
        proxy = StudentProxy(session)
        root = _fake_tree(proxy)
        assert session.call("write_names_that_are_no_utf8", root).value is True
        listing = proxy.list_tree(root)
    text = "\n".join(f"{path}: {entry}" for path, entry in listing.items())
    text.encode("utf-8")
    assert "cats_vs_dogs_small/train/cats/cat.\\xff\\xfe.jpg: file 0 " in text, text
    assert "cats_vs_dogs_small/train/cats/link-\\xed\\xa0\\x80: link -> /etc/\\xc3(" in text, text
