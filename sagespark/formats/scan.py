"""Find every record of a RecordIO buffer at once.

Record headers always start at multiples of four bytes, so viewing the buffer as ``uint32`` words and
taking the words equal to the magic number gives every header, plus (rarely) payload words that happen to
equal it. Each candidate's length says where the next header must be; when the candidates form exactly
that chain from the first byte, the framing is proven without a Python loop. Anything else (a magic word
inside a payload, split records, corrupt input) goes to the sequential scan, which is exact and names the
byte offset of any problem.

Examples
--------
>>> import numpy as np
>>> from sagespark.formats.recordio import frame
>>> data = np.frombuffer(frame(b"abc") + frame(b"de"), dtype=np.uint8)
>>> frames = scan_frames(data)
>>> frames.starts.tolist(), frames.lengths.tolist(), frames.consumed
([8, 20], [3, 2], 24)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from sagespark.errors import DataFormatError
from sagespark.formats.recordio import LENGTH_BITS, MAGIC, MAGIC_BYTES, MAX_LENGTH, padded

__all__ = ["Frames", "scan_frames"]

_HEADER = struct.Struct("<II")


@dataclass
class Frames:
    """Where the payloads of a buffer's complete records are.

    Attributes
    ----------
    buf : numpy.ndarray of uint8
        The buffer the payloads lie in: the input itself, or a new buffer when split records were joined.
    starts, lengths : numpy.ndarray of int64
        Each payload's first byte in ``buf`` and its length.
    offsets : numpy.ndarray of int64
        Absolute byte offset of each record's (first) header, for error messages.
    consumed : int
        Bytes of the input taken by complete records; the rest starts a record still to come.
    """

    buf: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray
    consumed: int

    def __len__(self) -> int:
        return int(self.starts.size)


def _empty(buf: np.ndarray) -> Frames:
    none = np.zeros(0, dtype=np.int64)
    return Frames(buf, none, none, none, 0)


def scan_frames(data: np.ndarray, *, base_offset: int = 0, final: bool = True) -> Frames:
    """Locate the complete records of ``data`` (a uint8 array).

    Parameters
    ----------
    data : numpy.ndarray of uint8
        Bytes that start at a record boundary.
    base_offset : int
        Absolute offset of ``data[0]`` in the stream, used in error messages.
    final : bool
        True when ``data`` ends the stream: then a trailing partial record is an error. Otherwise it is
        left unconsumed for the caller to complete with more bytes.

    Raises
    ------
    DataFormatError
        Bad magic, truncated header or payload, or a bad split-record sequence, with the byte offset.
    """
    fast = _scan_chain(data, final)
    if fast is not None:
        starts, lengths, consumed = fast
        return Frames(data, starts + 8, lengths, starts + base_offset, consumed)
    return _scan_sequential(data, base_offset, final)


def _scan_chain(data: np.ndarray, final: bool) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The vectorised scan: header positions and lengths if the magic words chain cleanly, else None."""
    n = data.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0
    nwords = n // 4
    words = data[: nwords * 4].view("<u4")
    uniform = _scan_uniform(words, n)
    if uniform is not None:
        return uniform
    cand = np.flatnonzero(words == MAGIC)
    cand = cand[cand + 1 < nwords]  # a header cut by the end of the buffer is handled below
    if cand.size == 0 or cand[0] != 0:
        return None
    lrecord = words[cand + 1]
    if (lrecord >> LENGTH_BITS).any():
        return None  # split records need joining
    lengths = (lrecord & MAX_LENGTH).astype(np.int64)
    following = cand + 2 + (lengths + 3) // 4
    if not np.array_equal(following[:-1], cand[1:]):
        return None
    end = int(following[-1]) * 4
    if end == n:
        return cand * 4, lengths, n
    if final:
        return None  # let the sequential scan name the problem
    if end > n:  # the last record is still incomplete
        return cand[:-1] * 4, lengths[:-1], int(cand[-1]) * 4
    if n - end < 8 and data[end : min(n, end + 4)].tobytes() == MAGIC_BYTES[: min(4, n - end)]:
        return cand * 4, lengths, end  # a header cut short: wait for the rest
    return None


def _scan_uniform(words: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Records all of one length (dense rows): check every header at its stride, touching n words only."""
    if words.size < 2 or words[0] != MAGIC or n % 4:
        return None
    first = int(words[1])
    if first >> LENGTH_BITS:
        return None
    step = 2 + (first + 3) // 4
    if words.size % step:
        return None
    headers = words.reshape(-1, step)[:, :2]
    if not ((headers[:, 0] == MAGIC).all() and (headers[:, 1] == first).all()):
        return None
    count = words.size // step
    starts = np.arange(count, dtype=np.int64) * (4 * step)
    return starts, np.full(count, first, dtype=np.int64), n


def _scan_sequential(data: np.ndarray, base_offset: int, final: bool) -> Frames:
    """Walk the headers one by one; exact, joins split records, names the offset of any problem."""
    raw = data.tobytes() if not isinstance(data, bytes) else data
    n = len(raw)
    pos = 0
    starts: list[int] = []
    lengths: list[int] = []
    offsets: list[int] = []
    joined: dict[int, bytes] = {}  # record index -> joined payload of a split record
    parts: list[bytes] = []
    part_start = 0
    consumed = 0
    while pos < n:
        where = base_offset + pos
        if n - pos < 8:
            if not final and raw[pos : pos + 4] == MAGIC_BYTES[: min(4, n - pos)]:
                break
            if raw[pos : pos + 4] != MAGIC_BYTES[: min(4, n - pos)]:
                raise DataFormatError(
                    f"Bad RecordIO magic at byte offset {where}: expected 0x{MAGIC:08X}, found "
                    f"{raw[pos : pos + 4].hex()} (little-endian bytes)."
                )
            raise DataFormatError(
                f"Truncated RecordIO header at byte offset {where}: expected 8 bytes, found {n - pos}."
            )
        magic, lrecord = _HEADER.unpack_from(raw, pos)
        if magic != MAGIC:
            raise DataFormatError(
                f"Bad RecordIO magic at byte offset {where}: expected 0x{MAGIC:08X}, found 0x{magic:08X}."
            )
        cflag, length = lrecord >> LENGTH_BITS, lrecord & MAX_LENGTH
        if cflag > 3:
            raise DataFormatError(
                f"Bad RecordIO continuation flag {cflag} at byte offset {where + 4}: expected 0-3."
            )
        if pos + 8 + length > n:
            if not final:
                break
            raise DataFormatError(
                f"Truncated RecordIO payload at byte offset {where + 8}: the record header promises "
                f"{length} bytes, only {n - pos - 8} remain."
            )
        if pos + 8 + padded(length) > n:
            if not final:
                break
            raise DataFormatError(
                f"Truncated RecordIO padding at byte offset {where + 8 + length}: the stream ends before "
                f"the record's zero padding to a multiple of 4 bytes."
            )
        if cflag in (0, 1) and parts:
            raise DataFormatError(
                f"Split RecordIO record starting at byte offset {base_offset + part_start} is interrupted at "
                f"byte offset {where} by a record with cflag {cflag}; expected a middle (2) or last (3) part."
            )
        if cflag in (2, 3) and not parts:
            raise DataFormatError(
                f"RecordIO part with cflag {cflag} at byte offset {where} has no first part (cflag 1)."
            )
        if cflag == 0:
            starts.append(pos + 8)
            lengths.append(length)
            offsets.append(where)
        else:
            if cflag == 1:
                part_start = pos
            parts.append(raw[pos + 8 : pos + 8 + length])
            if cflag == 3:
                joined[len(starts)] = MAGIC_BYTES.join(parts)
                starts.append(-1)
                lengths.append(-1)
                offsets.append(base_offset + part_start)
                parts = []
        pos += 8 + padded(length)
        if not parts:
            consumed = min(pos, n)
    if final and parts:
        raise DataFormatError(
            f"Split RecordIO record starting at byte offset {base_offset + part_start} has no last part "
            f"(cflag 3) before the end of the stream at byte offset {base_offset + n}."
        )
    if not starts:
        out = _empty(data)
        out.consumed = consumed
        return out
    start_arr = np.asarray(starts, dtype=np.int64)
    length_arr = np.asarray(lengths, dtype=np.int64)
    offset_arr = np.asarray(offsets, dtype=np.int64)
    if not joined:
        return Frames(data, start_arr, length_arr, offset_arr, consumed)
    # Joined payloads do not lie in ``data``: append them after it and point there.
    extra = b"".join(joined.values())
    buf = np.frombuffer(raw + extra, dtype=np.uint8)
    at = n
    for index, payload in joined.items():
        start_arr[index] = at
        length_arr[index] = len(payload)
        at += len(payload)
    return Frames(buf, start_arr, length_arr, offset_arr, consumed)
