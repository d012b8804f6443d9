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

import numpy as np

from sagespark.errors import DataFormatError
from sagespark.formats.pieces import Const, Matrix, Piece, Runs, Varint, piece_width
from sagespark.formats.recordio import MAGIC, MAX_LENGTH

__all__ = ["Const", "Varint", "Matrix", "Runs", "Piece", "assemble"]

_BLOCK_BYTES = 4 << 20  # padded bytes per block: keeps the working set in cache
_PAD = b"\0\0\0"


def _is_constant(lengths: np.ndarray) -> bool:
    return lengths.strides == (0,) or int(lengths.min()) == int(lengths.max())


def assemble(n: int, pieces: list[Piece]) -> bytes:
    """Frame ``n`` records whose payloads are the concatenation of ``pieces``, row by row.

    Every piece that is not a :class:`Runs` (constants, varint length fields, the header) must be a
    function of the sizes of the row's runs: rows whose runs have the same sizes then have identical
    bytes outside the runs, which the grouped strategy relies on.

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
    framed = [Matrix(header.view(np.uint8), derived=True), *pieces, Const(_PAD)]
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
    widths = sum(piece_width(piece, 0, n) for piece in framed)
    block = max(256, min(n, _BLOCK_BYTES // max(widths, 1)))
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        start = int(row_end[lo - 1]) if lo else 0
        target = out[start : int(row_end[hi - 1])]
        lengths = [lengths[lo:hi] for lengths in all_lengths]
        padded_size = (hi - lo) * sum(piece_width(piece, lo, hi) for piece in framed)
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
        if isinstance(piece, Varint):
            constant = piece.constant()
            if constant is not None:
                piece = Const(constant)
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
    """A small integer per row naming its tuple of lengths, or None if there are too many tuples."""
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
    if any(isinstance(piece, Matrix) and not piece.derived for piece in pieces):
        return None
    # The encoders derive every length field and optional tag from the sizes of the rows' runs of
    # values, so the runs' sizes determine a row's layout; each group's record sizes are checked below.
    runs_lengths = [lengths for piece, lengths in zip(pieces, all_lengths) if isinstance(piece, Runs)]
    key = _layout_groups(runs_lengths or all_lengths, max(1, n // 256))
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
        if (record[rows] != record[rows[0]]).any():
            return None
        # Outside the runs every row of the group has the first row's bytes: fill those once.
        first = int(rows[0])
        template = np.frombuffer(
            b"".join(piece.bytes_of_row(first, w) for piece, w in zip(pieces, widths) if w), dtype=np.uint8
        )
        block = np.empty((rows.size, template.size), dtype=np.uint8)
        block[:] = template
        col = 0
        for piece, width in zip(pieces, widths):
            if width and isinstance(piece, Runs):
                block[:, col : col + width] = piece.take(rows, width)
            col += width
        words = block.view("<u4")
        out[word_start[rows][:, None] + np.arange(words.shape[1])] = words
    return out.tobytes()
