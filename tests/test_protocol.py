"""Plain data only crosses the boundary, and malformed frames are refused."""

import io
import json
import pickle
import struct

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
