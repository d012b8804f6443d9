"""The pieces a record layout is made of, for :func:`sagespark.formats.assemble.assemble`.

Each piece knows its length in every row and can produce its bytes for a block of rows in three
shapes: left-aligned padded matrices with a mask (``padded``), the concatenated bytes (``stream``), or
exactly ``width`` bytes for chosen rows that share a layout (``take``).

Examples
--------
>>> import numpy as np
>>> Varint(np.array([1, 300], dtype=np.uint64)).lengths(2).tolist()
[1, 2]
>>> Runs(np.arange(6, dtype=np.uint8).reshape(3, 2), np.array([0, 1, 3])).lengths(2).tolist()
[2, 4]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sagespark.formats.varint import encode_varint_matrix, varint_lengths

__all__ = ["Const", "Varint", "Matrix", "Runs", "Piece", "piece_width", "constant_rows"]


def constant_rows(n: int, value: int) -> np.ndarray:
    """``value`` for each of ``n`` rows, as a read-only broadcast (no allocation)."""
    return np.broadcast_to(np.int64(value), (n,))


def _prefix_mask(lengths: np.ndarray, width: int) -> np.ndarray:
    return np.arange(width) < lengths[:, None]


@dataclass
class Const:
    """The same bytes in every row where ``present`` (all rows when None)."""

    data: bytes
    present: np.ndarray | None = None

    def lengths(self, n: int) -> np.ndarray:
        if self.present is None:
            return constant_rows(n, len(self.data))
        return self.present.astype(np.int64) * len(self.data)

    def padded(self, lo: int, hi: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row = np.frombuffer(self.data, dtype=np.uint8)
        return np.broadcast_to(row, (hi - lo, row.size)), _prefix_mask(lengths, row.size)

    def stream(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        matrix, mask = self.padded(lo, hi, lengths)
        return matrix[mask]

    def take(self, rows: np.ndarray, width: int) -> np.ndarray:
        return np.broadcast_to(np.frombuffer(self.data[:width], dtype=np.uint8), (rows.size, width))

    def bytes_of_row(self, row: int, width: int) -> bytes:
        return self.data[:width]


@dataclass
class Varint:
    """One varint per row (``uint64``), omitted where ``present`` is False.

    Varints are length fields and shapes: their values must follow from the sizes of the row's
    :class:`Runs` (see :func:`assemble`); per-row data goes in a :class:`Runs`.
    """

    values: np.ndarray
    present: np.ndarray | None = None
    widths: np.ndarray = field(init=False)
    _matrix: np.ndarray | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.widths = varint_lengths(self.values)
        if self.present is not None:
            self.widths = np.where(self.present, self.widths, 0)

    @property
    def matrix(self) -> np.ndarray:
        """The encoded varints, one left-aligned row each (built on first use)."""
        if self._matrix is None:
            self._matrix = encode_varint_matrix(self.values)[0]
        return self._matrix

    def constant(self) -> bytes | None:
        """The varint's bytes when every row has the same value and it is always present."""
        v = self.values
        if self.present is not None or v.size == 0:
            return None
        if v.strides == (0,) or int(v.min()) == int(v.max()):
            return encode_varint_matrix(v[:1])[0].tobytes()
        return None

    def lengths(self, n: int) -> np.ndarray:
        return self.widths

    def padded(self, lo: int, hi: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.matrix[lo:hi], _prefix_mask(lengths, self.matrix.shape[1])

    def stream(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        matrix, mask = self.padded(lo, hi, lengths)
        return matrix[mask]

    def bytes_of_row(self, row: int, width: int) -> bytes:
        value = int(self.values[row]) & 0xFFFFFFFFFFFFFFFF
        out = bytearray()
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
        return bytes(out[:width])

    def take(self, rows: np.ndarray, width: int) -> np.ndarray:
        if width == 1:
            return self.matrix[:, 0].take(rows)[:, None]
        return self.matrix.take(rows, axis=0)[:, :width]


@dataclass
class Matrix:
    """A fixed number of bytes per row: row ``i`` of a ``(n, w)`` uint8 matrix.

    ``derived`` declares that a row's bytes follow from the sizes of the row's :class:`Runs` (as the
    record header does); see :func:`assemble`.
    """

    data: np.ndarray
    derived: bool = False

    def lengths(self, n: int) -> np.ndarray:
        return constant_rows(n, self.data.shape[1])

    def padded(self, lo: int, hi: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.data[lo:hi], np.ones((hi - lo, self.data.shape[1]), dtype=bool)

    def stream(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        return self.data[lo:hi].reshape(-1)

    def take(self, rows: np.ndarray, width: int) -> np.ndarray:
        return self.data.take(rows, axis=0)

    def bytes_of_row(self, row: int, width: int) -> bytes:
        return self.data[row, :width].tobytes()


@dataclass
class Runs:
    """Row ``r`` holds elements ``indptr[r]:indptr[r+1]``; element ``e`` is ``elems[e, :sizes[e]]``.

    ``elems`` is an ``(m, w)`` byte matrix (4 or 8 bytes of a float, or a varint padded to ``w``);
    ``sizes`` None means every element uses all ``w`` bytes.
    """

    elems: np.ndarray
    indptr: np.ndarray
    sizes: np.ndarray | None = None
    row_bytes: np.ndarray = field(init=False)
    _flat: np.ndarray | None = field(init=False, default=None)
    _byte_start: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.sizes is None:
            self.row_bytes = np.diff(self.indptr) * self.elems.shape[1]
        else:
            bounds = np.zeros(self.sizes.size + 1, dtype=np.int64)
            np.cumsum(self.sizes, out=bounds[1:])
            self.row_bytes = bounds[self.indptr[1:]] - bounds[self.indptr[:-1]]

    def lengths(self, n: int) -> np.ndarray:
        return self.row_bytes

    def padded(self, lo: int, hi: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = self.elems.shape[1]
        ptr = self.indptr[lo : hi + 1]
        counts = np.diff(ptr)
        k = int(counts.max()) if counts.size else 0
        first, last = int(ptr[0]), int(ptr[-1])
        if (counts == k).all():  # equal counts: the element matrix already is the padded matrix
            grid = self.elems[first:last].reshape(hi - lo, k, w)
            sizes = None if self.sizes is None else self.sizes[first:last].reshape(hi - lo, k)
        else:
            rows = np.repeat(np.arange(hi - lo), counts)
            slots = np.arange(last - first) - np.repeat(ptr[:-1] - first, counts)
            grid = np.zeros((hi - lo, k, w), dtype=np.uint8)
            grid[rows, slots] = self.elems[first:last]
            if self.sizes is None:
                sizes = np.arange(k) < counts[:, None]
                sizes = sizes.astype(np.int64) * w
            else:
                sizes = np.zeros((hi - lo, k), dtype=np.int64)
                sizes[rows, slots] = self.sizes[first:last]
        if sizes is None:
            mask = np.ones((hi - lo, k * w), dtype=bool)
        else:
            mask = (np.arange(w) < sizes[:, :, None]).reshape(hi - lo, k * w)
        return grid.reshape(hi - lo, k * w), mask

    def stream(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        first, last = int(self.indptr[lo]), int(self.indptr[hi])
        elems = self.elems[first:last]
        if self.sizes is None:
            return elems.reshape(-1)
        return elems[_prefix_mask(self.sizes[first:last], elems.shape[1])]

    def bytes_of_row(self, row: int, width: int) -> bytes:
        return self.take(np.array([row]), width).tobytes()

    def take(self, rows: np.ndarray, width: int) -> np.ndarray:
        w = self.elems.shape[1]
        if self.sizes is None:  # equal byte counts mean equal element counts
            k = width // w
            index = self.indptr.take(rows)[:, None] + np.arange(k)
            if w == 4:  # move whole 4-byte elements at once
                return self.elems.view("<u4")[:, 0].take(index).view(np.uint8).reshape(rows.size, width)
            return self.elems.take(index.reshape(-1), axis=0).reshape(rows.size, width)
        if self._flat is None:
            self._flat = self.stream(0, self.indptr.size - 1, self.row_bytes)
            self._byte_start = np.zeros(self.indptr.size, dtype=np.int64)
            np.cumsum(self.row_bytes, out=self._byte_start[1:])
        return self._flat[self._byte_start[rows][:, None] + np.arange(width)]

    def max_width(self, lo: int, hi: int) -> int:
        counts = np.diff(self.indptr[lo : hi + 1])
        return int(counts.max(initial=0)) * self.elems.shape[1]


Piece = Const | Varint | Matrix | Runs


def piece_width(piece: Piece, lo: int, hi: int) -> int:
    if isinstance(piece, Const):
        return len(piece.data)
    if isinstance(piece, Varint):
        return int(piece.matrix.shape[1])
    if isinstance(piece, Matrix):
        return int(piece.data.shape[1])
    return piece.max_width(lo, hi)
