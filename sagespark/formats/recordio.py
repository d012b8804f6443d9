"""dmlc RecordIO framing, as SageMaker's RecordIO-protobuf streams use it.

Each record is ``u32 magic 0xCED7230A``, ``u32 lrecord``, the payload, then zero padding to a multiple of
four bytes (all little-endian). ``lrecord = cflag << 29 | length``. SageMaker's writers always write
``cflag = 0`` (a whole record); dmlc's own writer splits a payload wherever the magic word appears at an
aligned position inside it, writing parts with cflag 1 (first), 2 (middle) and 3 (last), and its reader
joins the parts with the magic word between them. This reader does the same, so every stream dmlc,
MXNet or SageMaker wrote can be read.

Examples
--------
>>> import io
>>> buf = io.BytesIO()
>>> write_records(buf, [b"abc", b""])
20
>>> list(iter_records(io.BytesIO(buf.getvalue())))
[b'abc', b'']
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from sagespark.errors import DataFormatError

__all__ = [
    "MAGIC",
    "MAX_LENGTH",
    "frame",
    "write_records",
    "iter_records",
    "iter_records_at",
    "padded",
    "read_one",
]

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
LENGTH_BITS = 29
MAX_LENGTH = (1 << LENGTH_BITS) - 1
_HEADER = struct.Struct("<II")
_PAD = (b"", b"\0", b"\0\0", b"\0\0\0")


def padded(length: int) -> int:
    """``length`` rounded up to a multiple of four."""
    return (length + 3) & ~3


def frame(payload: bytes) -> bytes:
    """One whole RecordIO record (cflag 0) holding ``payload``.

    Examples
    --------
    >>> frame(b"ab").hex()
    '0a23d7ce0200000061620000'
    """
    length = len(payload)
    if length > MAX_LENGTH:
        raise DataFormatError(
            f"A RecordIO record holds at most {MAX_LENGTH} bytes (29-bit length); "
            f"got a payload of {length} bytes."
        )
    return _HEADER.pack(MAGIC, length) + bytes(payload) + _PAD[-length & 3]


def write_records(f: BinaryIO, payloads: Iterable[bytes]) -> int:
    """Write each payload as one RecordIO record; return the number of bytes written.

    Examples
    --------
    >>> import io
    >>> write_records(io.BytesIO(), [b"x" * 5])
    16
    """
    total = 0
    for payload in payloads:
        record = frame(payload)
        f.write(record)
        total += len(record)
    return total


def _read_exact(f: BinaryIO, n: int) -> bytes:
    """Read up to ``n`` bytes, looping over short reads (pipes and sockets return less)."""
    chunks = []
    remaining = n
    while remaining > 0:
        chunk = f.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_one(f: BinaryIO, offset: int) -> tuple[bytes, int, int] | None:
    """Read one framed part at ``offset``: ``(payload, cflag, bytes consumed)``, or None at clean EOF.

    Raises
    ------
    DataFormatError
        On a bad magic word, a truncated header or a truncated payload, naming the byte offset.
    """
    header = _read_exact(f, 8)
    if not header:
        return None
    if len(header) < 8:
        raise DataFormatError(
            f"Truncated RecordIO header at byte offset {offset}: expected 8 bytes, found {len(header)}."
        )
    magic, lrecord = _HEADER.unpack(header)
    if magic != MAGIC:
        raise DataFormatError(
            f"Bad RecordIO magic at byte offset {offset}: expected 0x{MAGIC:08X}, found 0x{magic:08X}."
        )
    cflag, length = lrecord >> LENGTH_BITS, lrecord & MAX_LENGTH
    if cflag > 3:
        raise DataFormatError(
            f"Bad RecordIO continuation flag {cflag} at byte offset {offset + 4}: expected 0-3."
        )
    body = _read_exact(f, padded(length))
    if len(body) < length:
        raise DataFormatError(
            f"Truncated RecordIO payload at byte offset {offset + 8}: the record header promises {length} "
            f"bytes, only {len(body)} remain."
        )
    return body[:length], cflag, 8 + len(body)


def iter_records(f: BinaryIO) -> Iterator[bytes]:
    """Yield each record's payload from a binary file object, streaming, one record at a time.

    Split records (cflag 1, 2…, 3) are joined with the magic word between parts, as dmlc does.

    Raises
    ------
    DataFormatError
        For a bad magic word, truncated header or payload, or a bad continuation sequence; the message
        names the byte offset from where reading started.

    Examples
    --------
    >>> import io
    >>> list(iter_records(io.BytesIO(frame(b"hello"))))
    [b'hello']
    """
    for _, payload in iter_records_at(f):
        yield payload


def iter_records_at(f: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """As :func:`iter_records`, yielding ``(byte offset of the record's header, payload)``."""
    offset = 0
    parts: list[bytes] = []
    first_offset = 0
    while True:
        got = read_one(f, offset)
        if got is None:
            if parts:
                raise DataFormatError(
                    f"Split RecordIO record starting at byte offset {first_offset} has no last part "
                    f"(cflag 3) before the end of the stream at byte offset {offset}."
                )
            return
        payload, cflag, consumed = got
        if cflag == 0 or cflag == 1:
            if parts:
                raise DataFormatError(
                    f"Split RecordIO record starting at byte offset {first_offset} is interrupted at byte "
                    f"offset {offset} by a record with cflag {cflag}; expected a middle (2) or last (3) part."
                )
            if cflag == 0:
                yield offset, payload
            else:
                parts, first_offset = [payload], offset
        else:
            if not parts:
                raise DataFormatError(
                    f"RecordIO part with cflag {cflag} at byte offset {offset} has no first part (cflag 1)."
                )
            parts.append(payload)
            if cflag == 3:
                yield first_offset, MAGIC_BYTES.join(parts)
                parts = []
        offset += consumed
