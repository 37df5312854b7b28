"""Plain data only crosses the boundary, and malformed frames are refused."""

import io
import json
import pickle
import struct
import zipfile

import numpy as np
import pytest

from autograder.sandbox import protocol


def roundtrip(value):
    buffer = io.BytesIO()
    protocol.write_frame(buffer, {"kind": "test"}, value)
    buffer.seek(0)
    return protocol.read_frame(buffer)[1]


def test_plain_values_roundtrip():
    value = {"array": np.arange(6.0).reshape(2, 3), "ints": (1, 2), "none": None, "flag": True,
             "text": "é", "nan": float("nan"), "big": 2**70, "scalar": np.float32(2.5)}
    back = roundtrip(value)
    assert np.array_equal(back["array"], value["array"]) and back["ints"] == (1, 2)
    assert back["none"] is None and back["flag"] is True and back["text"] == "é"
    assert np.isnan(back["nan"]) and back["big"] == str(2**70) and back["scalar"] == 2.5


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1: "int key"}, lambda: 1,
                                   np.array(["strings"])])
def test_non_plain_values_are_refused(value):
    with pytest.raises(protocol.ProtocolError):
        roundtrip(value)


def _frame(header: dict, payload: bytes) -> io.BytesIO:
    head = json.dumps(header).encode()
    return io.BytesIO(struct.pack(">IQ", len(head), len(payload)) + head + payload)


def test_pickled_payload_is_refused():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(_frame({"value": {"__array__": 0}}, pickle.dumps({"a0": 1})))


def test_malformed_frames_are_refused():
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(io.BytesIO(struct.pack(">IQ", 3, 0) + b"{{{"))
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(io.BytesIO(struct.pack(">IQ", protocol.MAX_HEADER_BYTES + 1, 0)))
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(_frame({"value": {"__array__": 5}}, b""))
    with pytest.raises(protocol.ProtocolError):
        protocol.read_frame(_frame({"value": {"__weird__": 1}}, b""))
    with pytest.raises(EOFError):
        protocol.read_frame(io.BytesIO(b"\x00\x00"))


def _npz(compression, **arrays) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as stream:
                np.lib.format.write_array(stream, array, allow_pickle=False)
    return buffer.getvalue()


def test_a_compressed_payload_is_refused_before_anything_is_inflated():
    """A zip bomb: 40 kB of deflated zeros that NumPy would inflate to 400 MB in the grader."""
    bomb = _npz(zipfile.ZIP_DEFLATED, a0=np.zeros(50_000_000, dtype=np.float64))
    assert len(bomb) < 1_000_000
    with pytest.raises(protocol.ProtocolError, match="compressed"):
        protocol.read_frame(_frame({"value": {"__array__": 0}}, bomb))


def test_an_array_header_that_declares_more_than_was_sent_is_refused():
    """NumPy allocates what an .npy header declares before reading: a 100-byte array that says
    it is (10**9,) float64 must be refused, not allocated."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False,
                                                  "shape": (10**9,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("a0.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + bytes(32))
    with pytest.raises(protocol.ProtocolError, match="declares more data"):
        protocol.read_frame(_frame({"value": {"__array__": 0}}, buffer.getvalue()))


def test_an_object_array_header_is_refused_before_numpy_reads_it():
    buffer = io.BytesIO()
    np.save(buffer, np.array([object()], dtype=object), allow_pickle=True)
    archive_bytes = io.BytesIO()
    with zipfile.ZipFile(archive_bytes, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("a0.npy", buffer.getvalue())
    with pytest.raises(protocol.ProtocolError, match="unaccepted type"):
        protocol.read_frame(_frame({"value": {"__array__": 0}}, archive_bytes.getvalue()))


def test_a_deeply_nested_header_is_the_senders_error_not_a_crash():
    nested = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(protocol.ProtocolError, match="nested too deeply"):
        protocol.read_frame(io.BytesIO(struct.pack(">IQ", len(nested), 0) + nested))
    with pytest.raises(protocol.ProtocolError, match="nested too deeply"):
        nested_value = 1
        for _ in range(40):
            nested_value = [nested_value]
        protocol.read_frame(_frame({"value": nested_value}, b""))
