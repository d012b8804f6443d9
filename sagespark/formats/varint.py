"""Vectorised protobuf varints: lengths, encoding and decoding of whole arrays at once.

Protobuf writes unsigned integers 7 bits per byte, least significant group first, with the high bit of
every byte but the last set. Negative ``int32`` values are sign-extended to 64 bits first, so they always
take ten bytes. These helpers work on numpy arrays and never loop over values in Python; loops run over
the (at most ten) byte positions of a varint.

Examples
--------
>>> import numpy as np
>>> stream, lengths = encode_varints(np.array([1, 300], dtype=np.uint64))
>>> stream.tobytes().hex(), lengths.tolist()
('01ac02', [1, 2])
>>> decode_varint_stream(stream).tolist()
[1, 300]
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_VARINT_BYTES",
    "varint_lengths",
    "encode_varints",
    "encode_varint_matrix",
    "decode_varint_stream",
    "count_varints",
    "read_varints_at",
]

MAX_VARINT_BYTES = 10

# Thresholds 2**7, 2**14, ... 2**63: a value needs one more byte for every threshold it reaches.
_THRESHOLDS = [np.uint64(1) << np.uint64(7 * k) for k in range(1, MAX_VARINT_BYTES)]


def as_varint_u64(values: np.ndarray) -> np.ndarray:
    """Reinterpret integers as the unsigned 64-bit numbers protobuf encodes (int32 sign-extends)."""
    values = np.asarray(values)
    if values.dtype == np.uint64:
        return values
    if values.dtype.kind == "i":
        return values.astype(np.int64, copy=False).view(np.uint64)
    return values.astype(np.uint64)


def varint_lengths(values: np.ndarray) -> np.ndarray:
    """Number of bytes each value takes as a varint, as ``int64``.

    Examples
    --------
    >>> import numpy as np
    >>> varint_lengths(np.array([0, 127, 128, 2**63], dtype=np.uint64)).tolist()
    [1, 1, 2, 10]
    """
    v = as_varint_u64(values)
    if v.size == 0 or v.max() < 0x80:
        return np.broadcast_to(np.int64(1), v.shape)
    out = np.ones(v.shape, dtype=np.int64)
    for threshold in _THRESHOLDS:
        above = v >= threshold
        if not above.any():
            break
        out += above
    return out


def encode_varint_matrix(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Encode ``values`` into a ``(n, w)`` byte matrix, row ``i`` holding value ``i`` left-aligned.

    ``w`` is the longest varint present; bytes past a value's length are zero.

    Returns
    -------
    matrix : numpy.ndarray of uint8, shape (n, w)
    lengths : numpy.ndarray of int64, shape (n,)

    Examples
    --------
    >>> import numpy as np
    >>> m, n = encode_varint_matrix(np.array([5, 300], dtype=np.uint64))
    >>> m.tolist(), n.tolist()
    ([[5, 0], [172, 2]], [1, 2])
    """
    v = as_varint_u64(values).ravel()
    if v.size > 1 and v.strides == (0,):  # a constant: encode once, broadcast the row
        matrix, lengths = encode_varint_matrix(v[:1])
        return np.broadcast_to(matrix, (v.size, matrix.shape[1])), np.broadcast_to(lengths, (v.size,))
    if v.size and v.max() < 0x80:  # the common case of small lengths and indices: one byte each
        # A read-only broadcast of 1: no allocation for the lengths.
        return v.astype(np.uint8).reshape(-1, 1), np.broadcast_to(np.int64(1), (v.size,))
    lengths = varint_lengths(v)
    width = int(lengths.max()) if v.size else 1
    matrix = np.empty((v.size, width), dtype=np.uint8)
    for k in range(width):
        group = ((v >> np.uint64(7 * k)) & np.uint64(0x7F)).astype(np.uint8)
        if k + 1 < width:
            # Continuation bit on every byte before the value's last one.
            group |= (lengths > k + 1).astype(np.uint8) << np.uint8(7)
        matrix[:, k] = group
    return matrix, lengths


def encode_varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Encode ``values`` back to back into one byte stream.

    Returns
    -------
    stream : numpy.ndarray of uint8
        The concatenated varints, in order.
    lengths : numpy.ndarray of int64
        Bytes per value.
    """
    matrix, lengths = encode_varint_matrix(values)
    if matrix.shape[1] == 1:
        return matrix.reshape(-1), lengths
    # A row-major boolean selection keeps each value's bytes together and in order.
    keep = np.arange(matrix.shape[1]) < lengths[:, None]
    return matrix[keep], lengths


def count_varints(stream: np.ndarray) -> int:
    """Number of varints in a stream: one per terminating byte (high bit clear)."""
    return int(np.count_nonzero(stream < 0x80))


def decode_varint_stream(stream: np.ndarray) -> np.ndarray:
    """Decode back-to-back varints into ``uint64`` values.

    The caller guarantees that the stream ends with a terminating byte and that no varint is longer
    than ten bytes (see :func:`varint_stream_problem`).

    Examples
    --------
    >>> import numpy as np
    >>> decode_varint_stream(np.array([0xAC, 0x02, 0x07], dtype=np.uint8)).tolist()
    [300, 7]
    """
    stream = np.asarray(stream, dtype=np.uint8)
    if stream.size == 0:
        return np.zeros(0, dtype=np.uint64)
    terminal = stream < 0x80
    if terminal.all():
        return stream.astype(np.uint64)
    ends = np.flatnonzero(terminal)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    # Byte j of a varint carries bits 7j..7j+6: shift by 7 * (position - start of its varint).
    first = np.zeros(stream.size, dtype=np.int64)
    first[starts] = starts
    np.maximum.accumulate(first, out=first)
    shift = ((np.arange(stream.size, dtype=np.int64) - first) * 7).astype(np.uint64)
    parts = (stream & 0x7F).astype(np.uint64) << shift
    return np.add.reduceat(parts, starts)


def varint_stream_problem(stream: np.ndarray) -> int:
    """Index of the first byte where ``stream`` stops being valid back-to-back varints, or -1.

    Invalid means: the last byte continues past the end, or a varint runs longer than ten bytes.
    """
    stream = np.asarray(stream, dtype=np.uint8)
    if stream.size == 0:
        return -1
    terminal = np.flatnonzero(stream < 0x80)
    if terminal.size == 0 or terminal[-1] != stream.size - 1:
        return int(terminal[-1] + 1) if terminal.size else 0
    gaps = np.diff(terminal, prepend=-1)
    too_long = np.flatnonzero(gaps > MAX_VARINT_BYTES)
    if too_long.size:
        end = int(terminal[too_long[0]])
        return end - int(gaps[too_long[0]]) + 1
    return -1


def read_varints_at(
    buf: np.ndarray, pos: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read one varint at each position of ``pos`` (in lockstep over all positions).

    Parameters
    ----------
    buf : numpy.ndarray of uint8
        The buffer.
    pos : numpy.ndarray of int64
        Where each varint starts.
    limit : numpy.ndarray of int64
        Exclusive bound for each varint's bytes (the end of the enclosing message).

    Returns
    -------
    values : numpy.ndarray of uint64
    new_pos : numpy.ndarray of int64
        Position just past each varint.
    ok : numpy.ndarray of bool
        False where the varint is cut off by ``limit`` or longer than ten bytes.
    """
    n = pos.size
    last = buf.size - 1
    byte = buf[np.clip(pos, 0, last)] if buf.size else np.zeros(n, dtype=np.uint8)
    ok = (pos < limit) & (pos >= 0)
    values = (byte & 0x7F).astype(np.uint64)
    more = (byte >= 0x80) & ok
    new_pos = pos + 1
    if not more.any():
        return values, new_pos, ok
    rows = np.flatnonzero(more)
    for k in range(1, MAX_VARINT_BYTES):
        p = pos[rows] + k
        inside = p < limit[rows]
        ok[rows[~inside]] = False
        rows, p = rows[inside], p[inside]
        byte = buf[p]
        values[rows] |= (byte & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        new_pos[rows] = p + 1
        cont = byte >= 0x80
        rows = rows[cont]
        if rows.size == 0:
            break
    else:
        ok[rows] = False  # still continuing after ten bytes
    return values, new_pos, ok
