"""Vectorised decoder: a RecordIO-protobuf stream to a dense array or CSR matrix plus labels.

The framing is found with :func:`~sagespark.formats.scan.scan_frames`, the payloads are parsed in
lockstep by :func:`~sagespark.formats.parse.parse_rows`, and any record outside the canonical layout
is restated by :func:`~sagespark.formats.fallback.canonical` first, so every valid Record is read the
same way. Values are then gathered straight from the buffer: with a constant record stride (dense rows
of one width) this is a strided copy; otherwise offsets come from cumulative sums.

Examples
--------
>>> import numpy as np
>>> from sagespark.formats.encoder import encode
>>> batch = decode(encode(np.arange(6, dtype=np.float64).reshape(2, 3), np.array([1, 2])))
>>> batch.features.dtype, batch.features.shape, batch.labels.tolist()
(dtype('float64'), (2, 3), [1, 2])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError
from sagespark.formats.fallback import canonical
from sagespark.formats.parse import ParsedRows, parse_rows
from sagespark.formats.part import Part, expand, merge_parts
from sagespark.formats.scan import Frames, scan_frames
from sagespark.formats.template import template_parts
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
        Dense rows give a 2-D array of the tensors' dtype (mixed tensor types promote); any sparse row
        makes the result CSR, with keys kept as stored (order and duplicates, which scipy sums).
        Integer labels come back as int32, float labels in their tensor's dtype. Zero records give an
        empty ``(0, 0)`` float32 array and no labels.

    Raises
    ------
    DataFormatError
        Corrupt framing or protobuf, content a matrix cannot hold, dense rows of different widths,
        keys outside the shape, or labels on only some records; the message names the record index and
        byte offset.
    """
    buf = as_uint8(data)
    return decode_frames(scan_frames(buf))


def _canonicalise(
    frames: Frames, rows: ParsedRows, first_index: int, subset: np.ndarray
) -> tuple[Frames, ParsedRows]:
    """Restate the non-canonical records with the generated classes and parse again."""
    slow = np.flatnonzero(~rows.canonical)
    buf = frames.buf
    replaced = {
        int(i): canonical(
            buf[frames.starts[i] : frames.starts[i] + frames.lengths[i]].tobytes(),
            first_index + int(subset[i]),
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
            f"Record {first_index + int(subset[bad])} at byte offset {int(frames.offsets[bad])} cannot be "
            "read as a feature row (a shape too large to index?)."
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


def _counts(buf: np.ndarray, rows: ParsedRows, where: Callable[[int], str]) -> np.ndarray:
    """Number of values per row (bytes / item size, or varint terminators for int32)."""
    item = np.array([4, 8, 1], dtype=np.int64)[rows.value_type]
    bad = np.flatnonzero((rows.value_type < 2) & (rows.value_len % item != 0))
    if bad.size:
        i = int(bad[0])
        raise DataFormatError(
            f"{where(i)}: packed values of {int(rows.value_len[i])} bytes are not a whole number of "
            f"{int(item[i])}-byte values."
        )
    counts = rows.value_len // item
    ints = np.flatnonzero(rows.value_type == 2)
    if ints.size:
        counts[ints] = _terminators(buf, rows.value_pos[ints], rows.value_len[ints])[0]
    return counts


def _terminators(buf: np.ndarray, pos: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varints per row (terminating bytes) in ``buf[pos : pos + size]``, and the gathered bytes."""
    stream = _gather(buf, pos, size)
    ends = np.zeros(size.size + 1, dtype=np.int64)
    np.cumsum(size, out=ends[1:])
    terminal = np.zeros(stream.size + 1, dtype=np.int64)
    np.cumsum(stream < 0x80, out=terminal[1:])
    return terminal[ends[1:]] - terminal[ends[:-1]], stream


def _mixed(
    buf: np.ndarray, kinds: np.ndarray, pos: np.ndarray, size: np.ndarray, counts: np.ndarray, where: str
) -> np.ndarray:
    """Values of rows whose tensors may differ in type, concatenated in row order."""
    present = np.unique(kinds)
    if present.size == 1:
        return _values(buf, int(present[0]), pos, size, where)
    out = np.empty(int(counts.sum()), dtype=np.result_type(*[_DTYPES[k] for k in present]))
    start = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=start[1:])
    for kind in present:
        sel = np.flatnonzero(kinds == kind)
        values = _values(buf, int(kind), pos[sel], size[sel], where)
        with np.errstate(invalid="ignore"):  # widening a signalling NaN is not an error
            out[expand(start[sel], counts[sel])] = values
    return out


def _general_part(frames: Frames, subset: np.ndarray, first_index: int) -> Part:
    """Decode the records ``subset`` the general way: lockstep parse, generated classes for the rest."""
    sub = Frames(frames.buf, frames.starts[subset], frames.lengths[subset], frames.offsets[subset], 0)
    rows = parse_rows(sub.buf, sub.starts, sub.lengths)
    if not rows.canonical.all():
        sub, rows = _canonicalise(sub, rows, first_index, subset)
    buf = sub.buf

    def where(i: int) -> str:
        return f"Record {first_index + int(subset[i])} at byte offset {int(sub.offsets[i])}"

    counts = _counts(buf, rows, where)
    key_counts, key_stream = _terminators(buf, rows.key_pos, rows.key_len)
    sparse = rows.has_keys | (rows.has_shape & (counts == 0) & (rows.shape > 0))
    mismatch = np.flatnonzero(rows.has_keys & (key_counts != counts))
    if mismatch.size:
        i = int(mismatch[0])
        raise DataFormatError(
            f"{where(i)}: {int(key_counts[i])} keys for {int(counts[i])} values; expected one key per value."
        )
    bad_shape = np.flatnonzero(~sparse & rows.has_shape & (rows.shape != counts))
    if bad_shape.size:
        i = int(bad_shape[0])
        raise DataFormatError(
            f"{where(i)}: a dense tensor of {int(counts[i])} values with shape [{int(rows.shape[i])}]."
        )
    keys = (
        _varints(key_stream, "keys", where(int(np.flatnonzero(rows.has_keys)[0])))
        if key_stream.size
        else np.zeros(0, np.uint64)
    )
    values = _mixed(buf, rows.value_type, rows.value_pos, rows.value_len, counts, where(0))
    labels = _labels(buf, rows, where)
    return Part(
        rows=subset,
        counts=counts,
        values=values,
        has_keys=rows.has_keys,
        keys=keys,
        declared=np.where(sparse, np.where(rows.has_shape, rows.shape, -1), counts),
        sparse=sparse,
        has_label=rows.has_label,
        labels=labels,
    )


def decode_frames(frames: Frames, first_index: int = 0) -> RecordBatch:
    """Decode the records located by a framing scan (see :func:`decode`)."""
    n = len(frames)
    if n == 0:
        return RecordBatch(np.zeros((0, 0), dtype=np.float32), None)
    parts, rest = template_parts(frames)
    if rest.size:
        parts.append(_general_part(frames, rest, first_index))

    def where(i: int) -> str:
        return f"Record {first_index + i} at byte offset {int(frames.offsets[i])}"

    features, labels = merge_parts(parts, n, where)
    return RecordBatch(features, labels)


def _labels(buf: np.ndarray, rows: ParsedRows, where: Callable[[int], str]) -> np.ndarray:
    """Each row's label (0 where a row has none)."""
    has = rows.has_label
    out = np.zeros(has.size, dtype=np.float32)
    sel = np.flatnonzero(has)
    if not sel.size:
        return out
    ints = sel[rows.label_type[sel] == 2]
    if ints.size:
        several = np.flatnonzero(_terminators(buf, rows.label_pos[ints], rows.label_len[ints])[0] != 1)
        if several.size:
            raise DataFormatError(
                f"{where(int(ints[several[0]]))}: label 'values' holds more than one value; expected one."
            )
    ones = np.ones(sel.size, dtype=np.int64)
    values = _mixed(
        buf, rows.label_type[sel], rows.label_pos[sel], rows.label_len[sel], ones, where(int(sel[0]))
    )
    out = out.astype(values.dtype)
    out[sel] = values
    return out
