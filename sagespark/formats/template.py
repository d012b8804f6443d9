"""Decode records that share one byte layout as a 2-D array, with column slices.

Records of equal payload length written by the same writer almost always share their layout: only
the bytes of the values, keys and label differ. For each group of equal-length records, the first is
parsed as a template; every record whose structural bytes (everything but those data regions) equal the
template's is then read by slicing columns out of an ``(m, length)`` view of the group. Records that do
not match go the general way (:mod:`sagespark.formats.parse`). When the group is every record at a
constant stride (dense rows), the view is a strided view of the input: no gather at all.

Examples
--------
>>> import numpy as np
>>> from sagespark.formats.encoder import encode
>>> from sagespark.formats.scan import scan_frames
>>> frames = scan_frames(np.frombuffer(encode(np.ones((20, 2), np.float32)), np.uint8))
>>> parts, rest = template_parts(frames)
>>> parts[0].values.reshape(20, 2)[:2].tolist(), rest.tolist()
([[1.0, 1.0], [1.0, 1.0]], [])
"""

from __future__ import annotations

import numpy as np

from sagespark.formats.parse import parse_one
from sagespark.formats.part import Part
from sagespark.formats.scan import Frames
from sagespark.formats.varint import decode_varint_stream, varint_stream_problem

__all__ = ["template_parts", "rows_matching"]

_MIN_GROUP = 16  # smaller groups are cheaper the general way
_FLOATS = ("<f4", "<f8")


def _groups(lengths: np.ndarray) -> list[np.ndarray]:
    """Record indices grouped by payload length (each group in increasing order)."""
    low, high = int(lengths.min()), int(lengths.max())
    if low == high:
        return [np.arange(lengths.size)]
    if high - low < (1 << 16):
        key = (lengths - low).astype(np.uint16)
        order = np.argsort(key, kind="stable")  # radix sort for 16-bit keys
        sizes = np.bincount(key)
    else:
        values, inverse = np.unique(lengths, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        sizes = np.bincount(inverse, minlength=values.size)
    bounds = np.zeros(sizes.size + 1, dtype=np.int64)
    np.cumsum(sizes, out=bounds[1:])
    return [order[bounds[g] : bounds[g + 1]] for g in range(sizes.size) if sizes[g]]


def _rows_view(frames: Frames, rows: np.ndarray, length: int) -> np.ndarray:
    """The payloads of ``rows`` (all ``length`` bytes long) as an ``(m, 4 * words)`` uint8 array.

    Payloads start on 4-byte boundaries in a RecordIO stream, so rows are moved as ``uint32`` words;
    bytes past ``length`` in the last word are padding.
    """
    buf = frames.buf
    starts = frames.starts[rows]
    m = rows.size
    width = (length + 3) // 4
    aligned = buf.size % 4 == 0 and (starts % 4 == 0).all() and int(starts.max()) + 4 * width <= buf.size
    if not aligned:
        return buf[np.minimum(starts[:, None] + np.arange(4 * width), buf.size - 1)]
    words = buf.view("<u4")
    first = starts // 4
    if m > 1:
        step = int(first[1] - first[0])
        if step >= width and (np.diff(first) == step).all():
            view = np.lib.stride_tricks.as_strided(
                words[int(first[0]) :], shape=(m, width), strides=(4 * step, 4)
            )
            return view.view(np.uint8)
    return np.take(words, first[:, None] + np.arange(width)).view(np.uint8)


def rows_matching(
    frames: Frames, rows: np.ndarray, length: int, regions: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """The payloads of ``rows`` as an ``(m, >= length)`` byte array, and which match the first row.

    A row matches when all its bytes outside ``regions`` (``(start, size)`` pairs of data bytes) equal
    the first row's.
    """
    structural = np.ones(length, dtype=bool)
    for at, size in regions:
        structural[at : at + size] = False
    view = _rows_view(frames, rows, length)
    words = view.view("<u4")
    # Compare only the words holding structural bytes, masked to those bytes.
    mask_bytes = np.zeros(view.shape[1], dtype=np.uint8)
    mask_bytes[:length][structural] = 0xFF
    mask = mask_bytes.view("<u4")
    cols = np.flatnonzero(mask)
    picked = words[:, cols]
    return view, ~((picked ^ picked[0]) & mask[cols]).any(axis=1)


def _group_part(frames: Frames, rows: np.ndarray) -> tuple[Part | None, np.ndarray]:
    """Decode the records of one equal-length group; return the part and the rows left over."""
    length = int(frames.lengths[rows[0]])
    first = int(frames.starts[rows[0]])
    t = parse_one(frames.buf[first : first + length].tobytes())
    if t is None or t.value_type == 2 or t.label_type == 2 or length == 0:
        return None, rows  # int32 varints vary record by record: the general way handles them
    kind, label_kind = t.value_type, t.label_type
    if label_kind >= 0 and t.label_len != (4 if label_kind == 0 else 8):
        return None, rows
    has_keys, has_label = t.key_len > 0, t.label_type >= 0
    regions = [(t.value_pos if t.value_len else 0, t.value_len)]
    if has_keys:
        regions.append((t.key_pos, t.key_len))
    if has_label:
        regions.append((t.label_pos, t.label_len))
    view, match = rows_matching(frames, rows, length, regions)
    if not match.all():
        keep = np.flatnonzero(match)
        rest = rows[~match]
        rows, view = rows[keep], view[keep]
        if rows.size < _MIN_GROUP:
            return None, np.concatenate([rows, rest])
    else:
        rest = rows[:0]
    m = rows.size
    at, size = regions[0]
    item = 4 if kind == 0 else 8
    if size % item:
        return None, np.concatenate([rows, rest])
    k = size // item
    values = np.ascontiguousarray(view[:, at : at + size]).view(_FLOATS[kind]).reshape(m, k)
    labels = None
    if has_label:
        at_l, size_l = regions[-1]
        labels = np.ascontiguousarray(view[:, at_l : at_l + size_l]).view(_FLOATS[label_kind]).reshape(m)
    if not has_keys:
        part = Part.dense(rows, values, labels)
        if t.has_shape and t.shape != k:
            if k:
                return None, np.concatenate([rows, rest])  # a bad shape: the general path reports it
            # Sparse rows without any stored value.
            part.sparse = np.ones(m, dtype=bool)
            part.declared = np.full(m, t.shape, dtype=np.int64)
        return part, rest
    at_k, size_k = regions[1]
    stream = np.ascontiguousarray(view[:, at_k : at_k + size_k]).reshape(-1)
    if varint_stream_problem(stream) >= 0:
        return None, np.concatenate([rows, rest])
    keys = decode_varint_stream(stream)
    if keys.size != m * k:
        return None, np.concatenate([rows, rest])  # let the general path report the mismatch
    part = Part.dense(rows, values, labels)
    part.has_keys = np.ones(m, dtype=bool)
    part.keys = keys
    part.sparse = np.ones(m, dtype=bool)
    part.declared = np.full(m, t.shape if t.has_shape else -1, dtype=np.int64)
    return part, rest


def template_parts(frames: Frames) -> tuple[list[Part], np.ndarray]:
    """Parts for the records that match their group's template, and the indices of all others."""
    if len(frames) == 0:
        return [], np.zeros(0, dtype=np.int64)
    groups = _groups(frames.lengths)
    if len(groups) * _MIN_GROUP > len(frames):
        return [], np.arange(len(frames))
    parts: list[Part] = []
    rest: list[np.ndarray] = []
    for rows in groups:
        if rows.size < _MIN_GROUP:
            rest.append(rows)
            continue
        part, left = _group_part(frames, rows)
        if part is not None:
            parts.append(part)
        rest.append(left)
    leftover = np.sort(np.concatenate(rest)) if rest else np.zeros(0, dtype=np.int64)
    return parts, leftover
