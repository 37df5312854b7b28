"""Plain-data messages between the trusted grader and the sandboxed student process.

A frame is: 4-byte big-endian header length, 8-byte big-endian payload length, a UTF-8
JSON header, then an optional ``.npz`` payload holding the arrays the header refers to.

Values are JSON scalars, strings, lists and string-keyed dicts, plus arrays written as
``{"__array__": i}`` (entry ``a<i>`` of the npz payload). Nothing is ever pickled: the
npz is read with ``allow_pickle=False`` and only numeric and boolean dtypes are accepted.

The trusted side reads frames from untrusted code, so reading is bounded: a frame's sizes
are checked before it is read, the npz must be stored uncompressed (nothing is ever
inflated: its declared sizes are checked against what arrived before NumPy reads it), and
JSON nested too deeply is refused, not a crash of the reader.

This module is copied into the sandbox next to the worker, so it uses only the standard
library and NumPy.
"""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile

import numpy as np

MAX_HEADER_BYTES = 8 << 20  # the cells travel in the init frame's header (grading refuses > 4 MB of code)
MAX_PAYLOAD_BYTES = 512 << 20
MAX_NESTING = 16
MAX_ARRAYS = 4096
ACCEPTED_DTYPE_KINDS = "biuf"  # bool, int, unsigned, float

_PREFIX = struct.Struct(">IQ")


class ProtocolError(Exception):
    """A frame or value that is not plain data of the accepted kinds."""


def encode_value(value, arrays: list, depth: int = 0):
    """Turn ``value`` into JSON-ready data, moving arrays into ``arrays``."""
    if depth > MAX_NESTING:
        raise ProtocolError("value nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.generic) and value.dtype.kind in ACCEPTED_DTYPE_KINDS:
        return encode_value(value.item(), arrays, depth)  # NumPy scalars travel as plain numbers
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        array = np.array(value, copy=True)  # drops subclasses and their methods
        if array.dtype.kind not in ACCEPTED_DTYPE_KINDS:
            raise ProtocolError(f"arrays of dtype {array.dtype} cannot be returned")
        arrays.append(np.ascontiguousarray(array))
        return {"__array__": len(arrays) - 1}
    if isinstance(value, (list, tuple)):
        items = [encode_value(v, arrays, depth + 1) for v in value]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ProtocolError("only dicts with string keys can be returned")
        return {"__dict__": {k: encode_value(v, arrays, depth + 1) for k, v in value.items()}}
    raise ProtocolError(f"values of type {type(value).__name__} cannot be returned")


def decode_value(data, arrays: dict, depth: int = 0):
    """Inverse of :func:`encode_value`, type-checking everything that arrives."""
    if depth > MAX_NESTING:
        raise ProtocolError("value nested too deeply")
    if isinstance(data, str):
        return data.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    if data is None or isinstance(data, (bool, float)):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, list):
        return [decode_value(v, arrays, depth + 1) for v in data]
    if isinstance(data, dict) and len(data) == 1:
        (tag, inner), = data.items()
        if tag == "__array__" and isinstance(inner, int) and not isinstance(inner, bool):
            key = f"a{inner}"
            if key not in arrays:
                raise ProtocolError("reference to a missing array")
            return arrays[key]
        if tag == "__tuple__" and isinstance(inner, list):
            return tuple(decode_value(v, arrays, depth + 1) for v in inner)
        if tag == "__float__" and inner in ("nan", "inf", "-inf"):
            return float(inner)
        if tag == "__dict__" and isinstance(inner, dict):
            return {decode_value(str(k), arrays, depth + 1): decode_value(v, arrays, depth + 1)
                    for k, v in inner.items()}
    raise ProtocolError("malformed value")


def _pack_arrays(arrays: list) -> bytes:
    if not arrays:
        return b""
    buffer = io.BytesIO()
    np.savez(buffer, **{f"a{i}": a for i, a in enumerate(arrays)})
    return buffer.getvalue()


def _check_stored_archive(payload: bytes) -> None:
    """Refuse a payload that would make NumPy inflate or allocate more than was sent."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise ProtocolError("unreadable array payload (not a zip archive)") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ARRAYS:
            raise ProtocolError(f"more than {MAX_ARRAYS} arrays in one answer")
        declared = 0
        for member in members:
            if member.compress_type != zipfile.ZIP_STORED or member.file_size != member.compress_size:
                raise ProtocolError("compressed array payload refused (arrays travel uncompressed)")
            declared += member.file_size
            if declared > len(payload):
                raise ProtocolError("array payload declares more data than it holds")
            _check_array_header(archive, member)


def _check_array_header(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """NumPy allocates what an .npy header declares before reading the data: check it first."""
    try:
        with archive.open(member) as stream:
            version = np.lib.format.read_magic(stream)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(stream)
            header_bytes = stream.tell()
    except Exception:  # NumPy raises several kinds on a malformed header
        raise ProtocolError(f"unreadable array header in {member.filename!r}") from None
    if dtype.kind not in ACCEPTED_DTYPE_KINDS or dtype.hasobject:
        raise ProtocolError(f"array {member.filename!r} has an unaccepted type")
    if math.prod(shape) * dtype.itemsize > member.file_size - header_bytes:
        raise ProtocolError(f"array {member.filename!r} declares more data than it holds")


def _unpack_arrays(payload: bytes) -> dict:
    if not payload:
        return {}
    _check_stored_archive(payload)
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except Exception as error:  # np.load raises many types on bad input
        raise ProtocolError(f"unreadable array payload ({type(error).__name__})") from None
    for name, array in arrays.items():
        if type(array) is not np.ndarray or array.dtype.kind not in ACCEPTED_DTYPE_KINDS:
            raise ProtocolError(f"array {name} has an unaccepted type")
    return arrays


def write_frame(stream, header: dict, values=None) -> None:
    """Send ``header`` with ``values`` (any plain data) encoded under ``header['value']``."""
    arrays: list = []
    if values is not None:
        header = dict(header, value=encode_value(values, arrays))
    head = json.dumps(header, allow_nan=False).encode()
    payload = _pack_arrays(arrays)
    stream.write(_PREFIX.pack(len(head), len(payload)) + head + payload)
    stream.flush()


def _read_exactly(stream, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(stream) -> tuple[dict, object]:
    """Read one frame; return (header, decoded value or None)."""
    head_len, payload_len = _PREFIX.unpack(_read_exactly(stream, _PREFIX.size))
    if head_len > MAX_HEADER_BYTES or payload_len > MAX_PAYLOAD_BYTES:
        raise ProtocolError("frame too large")
    try:
        header = json.loads(_read_exactly(stream, head_len))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ProtocolError("malformed header") from None
    except RecursionError:
        raise ProtocolError("header nested too deeply") from None
    except ValueError:  # e.g. an integer past Python's digit limit
        raise ProtocolError("malformed header") from None
    if not isinstance(header, dict):
        raise ProtocolError("malformed header")
    arrays = _unpack_arrays(_read_exactly(stream, payload_len))
    value = decode_value(header.pop("value"), arrays) if "value" in header else None
    if getattr(stream, "expired", lambda: False)():  # decoding counts against the call's deadline too
        raise TimeoutError
    return header, value
