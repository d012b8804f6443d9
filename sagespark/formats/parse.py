"""Parse many Record payloads in lockstep: one vector of positions, advanced through the grammar.

SageMaker's writers (and the generated protobuf classes) lay a record out canonically::

    0A len  0A 06 "values"  12 len  <tensor tag> len  [0A len values] [12 len keys] [1A len shape]
    [12 len  0A 06 "values"  12 len  <tensor tag> len  0A len label]

Every step below reads one byte or one varint from all rows at once and checks it. A row that leaves
the canonical grammar anywhere (other map keys, unpacked fields, other field order, uid, ...) is only
flagged; :mod:`sagespark.formats.fallback` reads it with the generated classes. Nothing is skipped.

Examples
--------
>>> import numpy as np
>>> from sagespark.formats.encoder import encode
>>> from sagespark.formats.scan import scan_frames
>>> frames = scan_frames(np.frombuffer(encode(np.ones((2, 3), np.float32)), np.uint8))
>>> rows = parse_rows(frames.buf, frames.starts, frames.lengths)
>>> rows.canonical.tolist(), (rows.value_len // 4).tolist()
([True, True], [3, 3])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sagespark.formats.recordio import MAX_LENGTH
from sagespark.formats.varint import read_varints_at

__all__ = ["ParsedRows", "parse_rows", "TENSOR_CODES"]

# Value oneof tag byte -> dtype code (0 float32, 1 float64, 2 int32)
TENSOR_CODES = {0x12: 0, 0x1A: 1, 0x3A: 2}
_KEY = np.frombuffer(b"\x0a\x06values", dtype=np.uint8)


@dataclass
class ParsedRows:
    """Where each row's parts are; meaningful only where ``canonical`` is True.

    Positions are into the buffer that was parsed; lengths are in bytes.
    """

    canonical: np.ndarray
    value_type: np.ndarray
    value_pos: np.ndarray
    value_len: np.ndarray
    key_pos: np.ndarray
    key_len: np.ndarray
    has_keys: np.ndarray
    has_shape: np.ndarray
    shape: np.ndarray
    has_label: np.ndarray
    label_type: np.ndarray
    label_pos: np.ndarray
    label_len: np.ndarray


class _Cursor:
    """Lockstep reader over all rows; rows that fail a check are marked non-canonical."""

    def __init__(self, buf: np.ndarray, ok: np.ndarray) -> None:
        self.buf = buf
        self.last = max(buf.size - 1, 0)
        self.ok = ok

    def byte(self, pos: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """The byte at each position; 0 (never a valid tag here) where the position is out of bounds."""
        if self.buf.size == 0:
            return np.zeros(pos.size, dtype=np.uint8)
        values = self.buf[np.clip(pos, 0, self.last)]
        return np.where((pos < limit) & (pos >= 0), values, 0)

    def expect(self, pos: np.ndarray, limit: np.ndarray, value: int) -> None:
        self.ok &= self.byte(pos, limit) == value

    def varint(self, pos: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A length: anything beyond a RecordIO payload's size is impossible, so it fails the row."""
        values, after, good = read_varints_at(self.buf, pos, limit)
        good &= values <= np.uint64(MAX_LENGTH)
        self.ok &= good
        return np.where(good, values, 0).astype(np.int64), after

    def key(self, pos: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """Check the map key ``"values"`` (8 bytes with tag and length) at ``pos``."""
        self.ok &= pos + 8 <= limit
        if self.buf.size:
            window = self.buf[np.minimum(pos[:, None] + np.arange(8), self.last)]
            self.ok &= (window == _KEY).all(axis=1)
        return pos + 8

    def entry(
        self, pos: np.ndarray, limit: np.ndarray, tag: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A map entry ``tag len {"values" -> Value{tensor}}``: (tensor type, tensor start, entry end)."""
        self.expect(pos, limit, tag)
        length, pos = self.varint(pos + 1, limit)
        end = pos + length
        self.ok &= end <= limit
        pos = self.key(pos, end)
        self.expect(pos, end, 0x12)
        length, pos = self.varint(pos + 1, end)
        self.ok &= pos + length == end
        tag_byte = self.byte(pos, end)
        kind = np.select([tag_byte == 0x12, tag_byte == 0x1A, tag_byte == 0x3A], [0, 1, 2], -1)
        self.ok &= kind >= 0
        length, pos = self.varint(pos + 1, end)
        self.ok &= pos + length == end
        return kind.astype(np.int8), pos, end

    def packed(
        self, pos: np.ndarray, end: np.ndarray, tag: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """An optional packed field: (present, data start, data length, position after)."""
        present = (self.byte(pos, end) == tag) & self.ok
        start = np.zeros(pos.size, dtype=np.int64)
        size = np.zeros(pos.size, dtype=np.int64)
        rows = np.flatnonzero(present)
        if rows.size:
            values, after, good = read_varints_at(self.buf, pos[rows] + 1, end[rows])
            good &= values <= np.uint64(MAX_LENGTH)
            lengths = np.where(good, values, 0).astype(np.int64)
            self.ok[rows[~good]] = False
            start[rows] = after
            size[rows] = lengths
            pos = pos.copy()
            pos[rows] = after + lengths
            self.ok &= pos <= end
        return present, start, size, pos


def parse_rows(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> ParsedRows:
    """Parse every payload ``buf[starts[i] : starts[i] + lengths[i]]`` in lockstep.

    Parameters
    ----------
    buf : numpy.ndarray of uint8
    starts, lengths : numpy.ndarray of int64

    Returns
    -------
    ParsedRows
    """
    n = starts.size
    end = starts + lengths
    cur = _Cursor(buf, lengths > 0)
    value_type, pos, features_end = cur.entry(starts, end, 0x0A)
    has_values, value_pos, value_len, pos = cur.packed(pos, features_end, 0x0A)
    has_keys, key_pos, key_len, pos = cur.packed(pos, features_end, 0x12)
    has_shape, shape_pos, shape_len, pos = cur.packed(pos, features_end, 0x1A)
    cur.ok &= pos == features_end
    shape = np.zeros(n, dtype=np.int64)
    rows = np.flatnonzero(has_shape & cur.ok)
    if rows.size:
        # One shape element only: a multi-dimensional shape goes the general way.
        values, after, good = read_varints_at(buf, shape_pos[rows], shape_pos[rows] + shape_len[rows])
        good &= after == shape_pos[rows] + shape_len[rows]
        good &= values < np.uint64(1 << 62)
        cur.ok[rows[~good]] = False
        shape[rows] = values.astype(np.int64)
    has_label = (features_end < end) & cur.ok
    label_type = np.full(n, -1, dtype=np.int8)
    label_pos = np.zeros(n, dtype=np.int64)
    label_len = np.zeros(n, dtype=np.int64)
    rows = np.flatnonzero(has_label)
    if rows.size:
        sub = _Cursor(buf, np.ones(rows.size, dtype=bool))
        kind, p, entry_end = sub.entry(features_end[rows], end[rows], 0x12)
        sub.ok &= entry_end == end[rows]
        present, start, size, p = sub.packed(p, entry_end, 0x0A)
        sub.ok &= present & (p == entry_end)
        # A label is exactly one value: 4 or 8 bytes, or one varint (checked when decoded).
        sub.ok &= np.where(kind == 0, size == 4, np.where(kind == 1, size == 8, (size >= 1) & (size <= 10)))
        cur.ok[rows[~sub.ok]] = False
        label_type[rows] = kind
        label_pos[rows] = start
        label_len[rows] = size
    value_len = np.where(has_values, value_len, 0)
    return ParsedRows(
        canonical=cur.ok,
        value_type=value_type,
        value_pos=value_pos,
        value_len=value_len,
        key_pos=key_pos,
        key_len=np.where(has_keys, key_len, 0),
        has_keys=has_keys & (key_len > 0),
        has_shape=has_shape,
        shape=shape,
        has_label=has_label,
        label_type=label_type,
        label_pos=label_pos,
        label_len=label_len,
    )


@dataclass
class OneRow:
    """:func:`parse_one`'s result: positions relative to the payload start (see :class:`ParsedRows`)."""

    value_type: int
    value_pos: int
    value_len: int
    key_pos: int
    key_len: int
    has_shape: bool
    shape: int
    label_type: int
    label_pos: int
    label_len: int


def varint_at(data: bytes, pos: int, limit: int) -> tuple[int, int]:
    value = shift = 0
    for k in range(10):
        if pos + k >= limit:
            raise ValueError("cut varint")
        byte = data[pos + k]
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos + k + 1
    raise ValueError("varint too long")


def _entry_at(data: bytes, pos: int, limit: int, tag: int) -> tuple[int, int, int]:
    if pos >= limit or data[pos] != tag:
        raise ValueError("tag")
    length, pos = varint_at(data, pos + 1, limit)
    end = pos + length
    if end > limit or data[pos : pos + 8] != _KEY.tobytes() or pos + 8 >= end or data[pos + 8] != 0x12:
        raise ValueError("key")
    length, pos = varint_at(data, pos + 9, end)
    if pos + length != end or data[pos] not in TENSOR_CODES:
        raise ValueError("value")
    kind = TENSOR_CODES[data[pos]]
    length, pos = varint_at(data, pos + 1, end)
    if pos + length != end:
        raise ValueError("tensor")
    return kind, pos, end


def packed_at(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int, int]:
    """(start, length, position after) of an optional packed field; length -1 when absent."""
    if pos < end and data[pos] == tag:
        length, start = varint_at(data, pos + 1, end)
        if start + length > end:
            raise ValueError("packed")
        return start, length, start + length
    return 0, -1, pos


def parse_one(data: bytes) -> OneRow | None:
    """The canonical grammar of :func:`parse_rows` for a single payload, in plain Python.

    Used for the template of a group of records, where a lockstep parse of one row would cost more
    in numpy call overhead than it saves. Returns None for anything outside the canonical layout.

    Examples
    --------
    >>> from sagespark.formats.encoder import encode
    >>> import numpy as np
    >>> row = parse_one(encode(np.ones((1, 2), np.float32))[8:])
    >>> row.value_type, row.value_pos, row.value_len
    (0, 16, 8)
    """
    end = len(data)
    try:
        kind, pos, features_end = _entry_at(data, 0, end, 0x0A)
        value_pos, value_len, pos = packed_at(data, pos, features_end, 0x0A)
        key_pos, key_len, pos = packed_at(data, pos, features_end, 0x12)
        shape_pos, shape_len, pos = packed_at(data, pos, features_end, 0x1A)
        if pos != features_end:
            return None
        shape = 0
        if shape_len >= 0:
            shape, after = varint_at(data, shape_pos, shape_pos + shape_len)
            if after != shape_pos + shape_len or shape >= 1 << 62:
                return None
        label_type, label_pos, label_len = -1, 0, 0
        if features_end < end:
            label_type, pos, entry_end = _entry_at(data, features_end, end, 0x12)
            label_pos, label_len, pos = packed_at(data, pos, entry_end, 0x0A)
            if entry_end != end or pos != end or label_len < 1:
                return None
    except (ValueError, IndexError):
        return None
    return OneRow(
        value_type=kind,
        value_pos=value_pos,
        value_len=max(value_len, 0),
        key_pos=key_pos,
        key_len=max(key_len, 0),
        has_shape=shape_len >= 0,
        shape=shape,
        label_type=label_type,
        label_pos=label_pos,
        label_len=label_len,
    )
