"""Build a whole RecordIO stream of n records from per-row pieces, without a loop over rows.

A record's payload is described as a fixed sequence of pieces (constant bytes, a varint, a fixed-width
byte matrix, a run of elements such as a row's packed values). Each piece knows its length in every row.

Three strategies, all vectorised:

* fixed layout (every piece has the same length in every row, e.g. dense float rows): the stream is a
  2-D ``(n, record_size)`` array and each piece is a column slice, a plain memory copy;
* padded (rows of similar length, e.g. CSR rows): each piece becomes a left-aligned ``(rows, width)``
  byte matrix with a mask of its real bytes; concatenating the matrices side by side and compressing by
  the mask in row-major order yields every record's bytes in order;
* scattered (a block of rows where padding would waste too much, e.g. one very long sparse row): each
  piece's bytes are copied to offsets computed from cumulative sums of the piece lengths.

Rows are processed in blocks, choosing the strategy per block.

Examples
--------
>>> import numpy as np
>>> out = assemble(2, [Const(b"ab"), Varint(np.array([1, 300], dtype=np.uint64))])
>>> out.hex()
'0a23d7ce03000000616201000a23d7ce040000006162ac02'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sagespark.errors import DataFormatError
from sagespark.formats.recordio import MAGIC, MAX_LENGTH
from sagespark.formats.varint import encode_varint_matrix

__all__ = ["Const", "Varint", "Matrix", "Runs", "Piece", "assemble"]

_BLOCK_BYTES = 4 << 20  # padded bytes per block: keeps the working set in cache
_PAD = b"\0\0\0"


def _constant(n: int, value: int) -> np.ndarray:
    """``value`` for each of ``n`` rows, as a read-only broadcast (no allocation)."""
    return np.broadcast_to(np.int64(value), (n,))


def _is_constant(lengths: np.ndarray) -> bool:
    return lengths.strides == (0,) or int(lengths.min()) == int(lengths.max())


def _prefix_mask(lengths: np.ndarray, width: int) -> np.ndarray:
    return np.arange(width) < lengths[:, None]


@dataclass
class Const:
    """The same bytes in every row where ``present`` (all rows when None)."""

    data: bytes
    present: np.ndarray | None = None

    def lengths(self, n: int) -> np.ndarray:
        if self.present is None:
            return _constant(n, len(self.data))
        return self.present.astype(np.int64) * len(self.data)

    def padded(self, lo: int, hi: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row = np.frombuffer(self.data, dtype=np.uint8)
        return np.broadcast_to(row, (hi - lo, row.size)), _prefix_mask(lengths, row.size)

    def stream(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        matrix, mask = self.padded(lo, hi, lengths)
        return matrix[mask]

    def take(self, rows: np.ndarray, width: int) -> np.ndarray:
        return np.broadcast_to(np.frombuffer(self.data[:width], dtype=np.uint8), (rows.size, width))


@dataclass
class Varint:
    """One varint per row (``uint64``), omitted where ``present`` is False."""

    values: np.ndarray
    present: np.ndarray | None = None
    matrix: np.ndarray = field(init=False)
    widths: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.matrix, self.widths = encode_varint_matrix(self.values)
        if self.present is not None:
            self.widths = np.where(self.present, self.widths, 0)

    def lengths(self, n: int) -> np.ndarray:
        return self.widths

    def padded(self, lo: int, hi: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.matrix[lo:hi], _prefix_mask(lengths, self.matrix.shape[1])

    def stream(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        matrix, mask = self.padded(lo, hi, lengths)
        return matrix[mask]

    def take(self, rows: np.ndarray, width: int) -> np.ndarray:
        if width == 1:
            return self.matrix[:, 0].take(rows)[:, None]
        return self.matrix.take(rows, axis=0)[:, :width]


@dataclass
class Matrix:
    """A fixed number of bytes per row: row ``i`` of a ``(n, w)`` uint8 matrix."""

    data: np.ndarray

    def lengths(self, n: int) -> np.ndarray:
        return _constant(n, self.data.shape[1])

    def padded(self, lo: int, hi: int, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.data[lo:hi], np.ones((hi - lo, self.data.shape[1]), dtype=bool)

    def stream(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        return self.data[lo:hi].reshape(-1)

    def take(self, rows: np.ndarray, width: int) -> np.ndarray:
        return self.data.take(rows, axis=0)


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


def _piece_width(piece: Piece, lo: int, hi: int) -> int:
    if isinstance(piece, Const):
        return len(piece.data)
    if isinstance(piece, Varint):
        return int(piece.matrix.shape[1])
    if isinstance(piece, Matrix):
        return int(piece.data.shape[1])
    return piece.max_width(lo, hi)


def assemble(n: int, pieces: list[Piece]) -> bytes:
    """Frame ``n`` records whose payloads are the concatenation of ``pieces``, row by row.

    Returns
    -------
    bytes
        The RecordIO stream: magic, length, payload and zero padding for every record.

    Raises
    ------
    DataFormatError
        If a row's payload exceeds RecordIO's 29-bit record length.
    """
    if n == 0:
        return b""
    payload = np.zeros(n, dtype=np.int64)
    for piece in pieces:
        payload += piece.lengths(n)
    too_long = np.flatnonzero(payload > MAX_LENGTH)
    if too_long.size:
        row = int(too_long[0])
        raise DataFormatError(
            f"Row {row} encodes to {int(payload[row])} bytes; a RecordIO record holds at most {MAX_LENGTH}."
        )
    pieces = _fold_constants(pieces)
    header = np.empty((n, 2), dtype="<u4")
    header[:, 0] = MAGIC
    header[:, 1] = payload
    framed = [Matrix(header.view(np.uint8)), *pieces, Const(_PAD)]
    pad = -payload & 3
    all_lengths = [piece.lengths(n) for piece in framed[:-1]] + [pad]
    if all(_is_constant(lengths) for lengths in all_lengths):
        return _assemble_fixed(n, framed, [int(lengths[0]) for lengths in all_lengths])
    record = 8 + payload + pad
    grouped = _assemble_grouped(framed, all_lengths, record)
    if grouped is not None:
        return grouped
    row_end = np.cumsum(record)
    out = np.empty(int(row_end[-1]), dtype=np.uint8)
    widths = sum(_piece_width(piece, 0, n) for piece in framed)
    block = max(256, min(n, _BLOCK_BYTES // max(widths, 1)))
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        start = int(row_end[lo - 1]) if lo else 0
        target = out[start : int(row_end[hi - 1])]
        lengths = [lengths[lo:hi] for lengths in all_lengths]
        padded_size = (hi - lo) * sum(_piece_width(piece, lo, hi) for piece in framed)
        if padded_size <= 4 * target.size + 4096:
            _assemble_padded(target, framed, lo, hi, lengths)
        else:
            _assemble_scattered(target, framed, lo, hi, lengths, record[lo:hi])
    return out.tobytes()


def _fold_constants(pieces: list[Piece]) -> list[Piece]:
    """Turn varints equal in every row into constant bytes and merge neighbouring constants.

    Fewer, longer pieces mean fewer passes over the rows (the label entry of float labels, for one,
    becomes a single constant before the label's value bytes).
    """
    folded: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, Varint) and piece.present is None and piece.matrix.shape[0]:
            first = piece.matrix[0]
            if piece.matrix.strides[0] == 0 or (piece.matrix == first).all():
                piece = Const(first[: int(piece.widths[0])].tobytes())
        if isinstance(piece, Const) and piece.present is None and folded:
            last = folded[-1]
            if isinstance(last, Const) and last.present is None:
                folded[-1] = Const(last.data + piece.data)
                continue
        folded.append(piece)
    return folded


def _assemble_fixed(n: int, pieces: list[Piece], widths: list[int]) -> bytes:
    """Every row has the same layout: write each piece as a column slice of an ``(n, size)`` array."""
    out = np.zeros((n, sum(widths)), dtype=np.uint8)
    col = 0
    full = np.zeros(0, dtype=np.int64)
    for piece, width in zip(pieces, widths):
        if width == 0:
            continue
        if isinstance(piece, Const):
            out[:, col : col + width] = np.frombuffer(piece.data[:width], dtype=np.uint8)
        elif isinstance(piece, Runs) and piece.sizes is not None:
            # Varint elements: the padded matrix has holes; every row has the same byte count here.
            out[:, col : col + width] = piece.stream(0, n, full).reshape(n, width)
        else:
            matrix, _ = piece.padded(0, n, full)
            out[:, col : col + width] = matrix[:, :width]
        col += width
    return out.tobytes()


def _assemble_padded(
    target: np.ndarray, pieces: list[Piece], lo: int, hi: int, lengths: list[np.ndarray]
) -> None:
    """Side-by-side padded piece matrices, compressed by their masks in row-major order."""
    matrices, masks = [], []
    for piece, piece_lengths in zip(pieces, lengths):
        matrix, mask = piece.padded(lo, hi, piece_lengths)
        if matrix.shape[1]:
            matrices.append(matrix)
            masks.append(mask)
    grid = np.concatenate(matrices, axis=1)
    np.compress(np.concatenate(masks, axis=1).reshape(-1), grid.reshape(-1), out=target)


def _assemble_scattered(
    target: np.ndarray, pieces: list[Piece], lo: int, hi: int, lengths: list[np.ndarray], record: np.ndarray
) -> None:
    """Copy each piece's bytes to per-row destinations computed from cumulative lengths."""
    dst = np.zeros(hi - lo, dtype=np.int64)
    np.cumsum(record[:-1], out=dst[1:])
    for piece, piece_lengths in zip(pieces, lengths):
        data = piece.stream(lo, hi, piece_lengths)
        total = int(piece_lengths.sum())
        if total:
            src_start = np.zeros(hi - lo, dtype=np.int64)
            np.cumsum(piece_lengths[:-1], out=src_start[1:])
            index = np.repeat(dst - src_start, piece_lengths)
            index += np.arange(total, dtype=np.int64)
            target[index] = data[:total]
        dst = dst + piece_lengths


def _layout_groups(all_lengths: list[np.ndarray], limit: int) -> np.ndarray | None:
    """A small integer per row naming its layout (the tuple of piece lengths), or None if too many."""
    n = all_lengths[0].size
    key = np.zeros(n, dtype=np.int64)
    for lengths in all_lengths:
        if lengths.strides == (0,):
            continue
        low, high = int(lengths.min()), int(lengths.max())
        if low == high:
            continue
        key = key * (high - low + 1) + (lengths - low)
        # Lengths are strongly correlated, so renumbering the combinations seen keeps keys small.
        seen = np.zeros(int(key.max()) + 1, dtype=bool) if key.max() < (1 << 24) else None
        if seen is None:
            return None
        seen[key] = True
        if int(seen.sum()) > limit:
            return None
        key = (np.cumsum(seen) - 1)[key]
    return key


def _assemble_grouped(pieces: list[Piece], all_lengths: list[np.ndarray], record: np.ndarray) -> bytes | None:
    """Rows sharing a layout are built together with column slices, then placed word by word.

    Records are multiples of four bytes, so placing them is a scatter of ``uint32`` words.
    """
    n = record.size
    key = _layout_groups(all_lengths, max(1, n // 256))
    if key is None:
        return None
    n_groups = int(key.max()) + 1
    order = np.argsort(key.astype(np.uint16), kind="stable")
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=n_groups), out=bounds[1:])
    word_start = np.zeros(n, dtype=np.int64)
    np.cumsum(record[:-1] // 4, out=word_start[1:])
    out = np.empty(int(record.sum()) // 4, dtype="<u4")
    for g in range(n_groups):
        rows = order[bounds[g] : bounds[g + 1]]
        widths = [int(lengths[rows[0]]) for lengths in all_lengths]
        block = np.empty((rows.size, sum(widths)), dtype=np.uint8)
        col = 0
        for piece, width in zip(pieces, widths):
            if width:
                block[:, col : col + width] = piece.take(rows, width)
                col += width
        words = block.view("<u4")
        out[word_start[rows][:, None] + np.arange(words.shape[1])] = words
    return out.tobytes()
