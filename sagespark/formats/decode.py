"""Vectorised decoder: a RecordIO-protobuf stream to a dense array or CSR matrix plus labels.

The framing is found with :func:`~sagespark.formats.scan.scan_frames`, the payloads are parsed in
lockstep by :func:`~sagespark.formats.parse.parse_rows`, and any record outside the canonical layout
is restated by :func:`~sagespark.formats.fallback.canonical` first, so every valid Record is read the
same way. Values are then gathered straight from the buffer: with a constant record stride (dense rows
of one width) this is a strided copy; otherwise offsets come from cumulative sums.

Examples
--------
>>> import numpy as np
>>> from sagespark.formats.encode import encode
>>> batch = decode(encode(np.arange(6, dtype=np.float64).reshape(2, 3), np.array([1, 2])))
>>> batch.features.dtype, batch.features.shape, batch.labels.tolist()
(dtype('float64'), (2, 3), [1, 2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError
from sagespark.formats.fallback import canonical
from sagespark.formats.parse import ParsedRows, parse_rows
from sagespark.formats.scan import Frames, scan_frames
from sagespark.formats.varint import decode_varint_stream, varint_stream_problem

__all__ = ["RecordBatch", "decode", "decode_frames", "as_uint8"]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32))


@dataclass
class RecordBatch:
    """Rows decoded from a RecordIO-protobuf stream.

    Attributes
    ----------
    features : numpy.ndarray of shape (n, d), or scipy.sparse.csr_matrix
        Dense when every record is dense; CSR when any record is sparse.
    labels : numpy.ndarray of shape (n,), or None
        One label per record, or None when the records carry no label.
    """

    features: np.ndarray | sp.csr_matrix
    labels: np.ndarray | None

    def __len__(self) -> int:
        return int(self.features.shape[0])


def as_uint8(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """A zero-copy uint8 view of a bytes-like object."""
    if isinstance(data, np.ndarray):
        return data.view(np.uint8).reshape(-1)
    return np.frombuffer(data, dtype=np.uint8)


def decode(data: bytes | bytearray | memoryview | np.ndarray) -> RecordBatch:
    """Decode a whole RecordIO-protobuf stream.

    Parameters
    ----------
    data : bytes-like
        The stream: zero or more framed Records.

    Returns
    -------
    RecordBatch
        Zero records give an empty ``(0, 0)`` float32 array and no labels.

    Raises
    ------
    DataFormatError
        Corrupt framing or protobuf, content a matrix cannot hold, dense rows of different widths,
        keys outside the shape, or labels on only some records; the message names the record index and
        byte offset.
    """
    buf = as_uint8(data)
    return decode_frames(scan_frames(buf))


def _canonicalise(frames: Frames, rows: ParsedRows, first_index: int) -> tuple[Frames, ParsedRows]:
    """Restate the non-canonical records with the generated classes and parse again."""
    slow = np.flatnonzero(~rows.canonical)
    buf = frames.buf
    replaced = {
        int(i): canonical(
            buf[frames.starts[i] : frames.starts[i] + frames.lengths[i]].tobytes(),
            first_index + int(i),
            int(frames.offsets[i]),
        )
        for i in slow
    }
    extra = b"".join(replaced.values())
    new_buf = np.concatenate([buf, np.frombuffer(extra, dtype=np.uint8)])
    starts = frames.starts.copy()
    lengths = frames.lengths.copy()
    at = buf.size
    for i, payload in replaced.items():
        starts[i], lengths[i] = at, len(payload)
        at += len(payload)
    fixed = Frames(new_buf, starts, lengths, frames.offsets, frames.consumed)
    again = parse_rows(new_buf, starts, lengths)
    if not again.canonical.all():
        bad = int(np.flatnonzero(~again.canonical)[0])
        raise DataFormatError(
            f"Record {first_index + bad} at byte offset {int(frames.offsets[bad])} cannot be read as a feature "
            "row (a shape too large to index?)."
        )
    return fixed, again


def _gather(buf: np.ndarray, pos: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Concatenate ``buf[pos[i] : pos[i] + size[i]]`` over rows, vectorised."""
    n = pos.size
    if n == 0:
        return np.zeros(0, dtype=np.uint8)
    width = int(size[0])
    if (size == width).all():
        if width == 0:
            return np.zeros(0, dtype=np.uint8)
        step = int(pos[1] - pos[0]) if n > 1 else width
        if step > 0 and (n == 1 or (np.diff(pos) == step).all()):
            # Constant stride: a strided view of the buffer, copied row by row.
            view = np.lib.stride_tricks.as_strided(buf[int(pos[0]) :], shape=(n, width), strides=(step, 1))
            return view.reshape(-1)
        return buf[pos[:, None] + np.arange(width)].reshape(-1)
    total = int(size.sum())
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(size[:-1], out=start[1:])
    index = np.repeat(pos - start, size)
    index += np.arange(total, dtype=np.int64)
    return buf[index]


def _varints(stream: np.ndarray, what: str, where: str) -> np.ndarray:
    problem = varint_stream_problem(stream)
    if problem >= 0:
        raise DataFormatError(f"{where}: malformed varint in {what}.")
    return decode_varint_stream(stream)


def _values(buf: np.ndarray, kind: int, pos: np.ndarray, size: np.ndarray, where: str) -> np.ndarray:
    """All rows' values of one tensor type, concatenated."""
    raw = _gather(buf, pos, size)
    if kind == 0:
        return raw.view("<f4").astype(np.float32, copy=False)
    if kind == 1:
        return raw.view("<f8").astype(np.float64, copy=False)
    wide = _varints(raw, "Int32Tensor values", where)
    return (wide & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.int32)


def _counts(buf: np.ndarray, rows: ParsedRows, frames: Frames, first_index: int) -> np.ndarray:
    """Number of values per row (bytes / item size, or varint terminators for int32)."""
    item = np.array([4, 8, 1], dtype=np.int64)[rows.value_type]
    bad = np.flatnonzero((rows.value_type < 2) & (rows.value_len % item != 0))
    if bad.size:
        i = int(bad[0])
        raise DataFormatError(
            f"Record {first_index + i} at byte offset {int(frames.offsets[i])}: packed values of "
            f"{int(rows.value_len[i])} bytes are not a whole number of {int(item[i])}-byte values."
        )
    counts = rows.value_len // item
    ints = np.flatnonzero(rows.value_type == 2)
    if ints.size:
        stream = _gather(buf, rows.value_pos[ints], rows.value_len[ints])
        ends = np.zeros(ints.size + 1, dtype=np.int64)
        np.cumsum(rows.value_len[ints], out=ends[1:])
        terminal = np.zeros(stream.size + 1, dtype=np.int64)
        np.cumsum(stream < 0x80, out=terminal[1:])
        counts[ints] = terminal[ends[1:]] - terminal[ends[:-1]]
    return counts


def _key_counts(buf: np.ndarray, rows: ParsedRows) -> tuple[np.ndarray, np.ndarray]:
    stream = _gather(buf, rows.key_pos, rows.key_len)
    ends = np.zeros(rows.key_len.size + 1, dtype=np.int64)
    np.cumsum(rows.key_len, out=ends[1:])
    terminal = np.zeros(stream.size + 1, dtype=np.int64)
    np.cumsum(stream < 0x80, out=terminal[1:])
    return terminal[ends[1:]] - terminal[ends[:-1]], stream


def decode_frames(frames: Frames, first_index: int = 0) -> RecordBatch:
    """Decode the records located by a framing scan (see :func:`decode`)."""
    n = len(frames)
    if n == 0:
        return RecordBatch(np.zeros((0, 0), dtype=np.float32), None)
    rows = parse_rows(frames.buf, frames.starts, frames.lengths)
    if not rows.canonical.all():
        frames, rows = _canonicalise(frames, rows, first_index)
    buf = frames.buf

    def where(i: int) -> str:
        return f"Record {first_index + i} at byte offset {int(frames.offsets[i])}"

    counts = _counts(buf, rows, frames, first_index)
    key_counts, key_stream = _key_counts(buf, rows)
    sparse = rows.has_keys | (rows.has_shape & (counts == 0) & (rows.shape > 0))
    mismatch = np.flatnonzero(rows.has_keys & (key_counts != counts))
    if mismatch.size:
        i = int(mismatch[0])
        raise DataFormatError(f"{where(i)}: {int(key_counts[i])} keys for {int(counts[i])} values; expected one key per value.")
    bad_shape = np.flatnonzero(~sparse & rows.has_shape & (rows.shape != counts))
    if bad_shape.size:
        i = int(bad_shape[0])
        raise DataFormatError(f"{where(i)}: a dense tensor of {int(counts[i])} values with shape [{int(rows.shape[i])}].")
    declared = np.where(sparse, np.where(rows.has_shape, rows.shape, -1), counts)
    known = np.flatnonzero(declared >= 0)
    n_cols = int(declared[known[0]]) if known.size else -1
    differ = known[declared[known] != n_cols]
    if differ.size:
        i = int(differ[0])
        raise DataFormatError(
            f"{where(i)} has {int(declared[i])} columns but record {first_index + int(known[0])} has {n_cols}; "
            "every record must have the same width."
        )
    features = _features(buf, rows, counts, sparse, n_cols, key_stream, where)
    return RecordBatch(features, _labels(buf, rows, where))


def _all_values(buf: np.ndarray, rows: ParsedRows, counts: np.ndarray, where: object) -> np.ndarray:
    kinds = np.unique(rows.value_type)
    if kinds.size == 1:
        return _values(buf, int(kinds[0]), rows.value_pos, rows.value_len, str(where(0)))  # type: ignore[operator]
    dtype = np.result_type(*[_DTYPES[k] for k in kinds])
    out = np.empty(int(counts.sum()), dtype=dtype)
    start = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=start[1:])
    for kind in kinds:
        sel = np.flatnonzero(rows.value_type == kind)
        values = _values(buf, int(kind), rows.value_pos[sel], rows.value_len[sel], str(where(int(sel[0]))))  # type: ignore[operator]
        index = np.repeat(start[sel] - np.concatenate([[0], np.cumsum(counts[sel])[:-1]]), counts[sel])
        out[index + np.arange(values.size)] = values
    return out


def _features(
    buf: np.ndarray,
    rows: ParsedRows,
    counts: np.ndarray,
    sparse: np.ndarray,
    n_cols: int,
    key_stream: np.ndarray,
    where: object,
) -> np.ndarray | sp.csr_matrix:
    n = counts.size
    values = _all_values(buf, rows, counts, where)
    if not sparse.any():
        return values.reshape(n, max(n_cols, 0))
    keys = _varints(key_stream, "keys", "sparse records") if key_stream.size else np.zeros(0, np.uint64)
    # Dense rows inside a sparse batch take keys 0..count-1.
    key_rows = np.flatnonzero(rows.has_keys)
    indices = np.empty(values.size, dtype=np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    is_key = np.repeat(rows.has_keys, counts)
    indices[is_key] = keys.astype(np.int64)
    dense_pos = np.flatnonzero(~is_key)
    if dense_pos.size:
        owner = np.repeat(np.arange(n), counts)[dense_pos]
        indices[dense_pos] = dense_pos - indptr[owner]
    if n_cols < 0:
        n_cols = int(indices.max()) + 1 if indices.size else 0
    out_of_range = np.flatnonzero((keys >= np.uint64(max(n_cols, 0))) | (keys >= np.uint64(1 << 62)))
    if out_of_range.size:
        owner_row = key_rows[np.searchsorted(np.cumsum(counts[key_rows]), out_of_range[0], side="right")]
        raise DataFormatError(
            f"{where(int(owner_row))}: key {int(keys[out_of_range[0]])} is outside the shape "  # type: ignore[operator]
            f"[{n_cols}]; expected keys below {n_cols}."
        )
    index_dtype = np.int32 if n_cols < (1 << 31) and values.size < (1 << 31) else np.int64
    return sp.csr_matrix(
        (values, indices.astype(index_dtype), indptr.astype(index_dtype)), shape=(n, n_cols)
    )


def _labels(buf: np.ndarray, rows: ParsedRows, where: object) -> np.ndarray | None:
    has = rows.has_label
    if not has.any():
        return None
    if not has.all():
        i = int(np.flatnonzero(~has)[0])
        j = int(np.flatnonzero(has)[0])
        raise DataFormatError(
            f"{where(i)} has no label but {where(j)} has one; expected labels on all records or none."  # type: ignore[operator]
        )
    ints = np.flatnonzero(rows.label_type == 2)
    if ints.size:
        stream = _gather(buf, rows.label_pos[ints], rows.label_len[ints])
        ends = np.cumsum(rows.label_len[ints]) - 1
        # One varint per label: its only terminating byte is its last byte.
        several = np.flatnonzero(np.cumsum(stream < 0x80)[ends] != np.arange(1, ints.size + 1))
        if several.size:
            i = int(ints[several[0]])
            raise DataFormatError(f"{where(i)}: label 'values' holds more than one value; expected one.")  # type: ignore[operator]
    kinds = np.unique(rows.label_type)
    if kinds.size == 1:
        return _values(buf, int(kinds[0]), rows.label_pos, rows.label_len, "labels")
    dtype = np.result_type(*[_DTYPES[k] for k in kinds])
    out = np.empty(has.size, dtype=dtype)
    for kind in kinds:
        sel = np.flatnonzero(rows.label_type == kind)
        out[sel] = _values(buf, int(kind), rows.label_pos[sel], rows.label_len[sel], "labels")
    return out
