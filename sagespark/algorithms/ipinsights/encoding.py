"""Strings → integers, vectorised: IPv4 dotted-decimal addresses → uint32, entity ids → hash buckets.

Both work on the UTF-8 bytes of a whole column at once (an Arrow string array: one offsets buffer and
one data buffer), so no Python runs per row.

* :func:`parse_ipv4` reads every address as four decimal octets 0-255 separated by dots, strictly as
  Python's :mod:`ipaddress` does (no leading zeros, no spaces, no other characters): one RE2 match over
  the column validates, then a split and a cast in Arrow's kernels convert. The first invalid row
  raises :class:`~sagespark.errors.DataFormatError` naming the column, the row and the value.
* :func:`hash_entities` is a 64-bit polynomial hash over the bytes (wrapping uint64 arithmetic, the
  same on every platform and in every process, unlike Python's salted ``hash``), finished with the
  murmur3 ``fmix64`` mixer and reduced modulo ``num_entity_vectors``.

Examples
--------
>>> import numpy as np
>>> parse_ipv4(np.array(["1.2.3.4", "255.255.255.255"], dtype=object)).tolist()
[16909060, 4294967295]
>>> octets(np.array([16909060], dtype=np.int64)).tolist()
[[1, 2, 3, 4]]
>>> b = hash_entities(np.array(["alice", "bob", "alice"], dtype=object), 1000)
>>> bool(b[0] == b[2]), bool(0 <= b.min() and b.max() < 1000)
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sagespark.errors import DataFormatError

__all__ = ["parse_ipv4", "hash_entities", "octets", "format_ipv4"]

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_PATTERN = "^" + r"\.".join([_OCTET] * 4) + "$"
_PRIME = np.uint64(0x100000001B3)  # the 64-bit FNV prime: odd, so multiplication is a bijection
_SEED = np.uint64(0xCBF29CE484222325)  # the FNV offset basis, added so "" hashes to a mixed value


def _string_buffers(values: Any, column: str) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """(offsets int64, data uint8, the Arrow array) of a string column given as Arrow or numpy."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        try:
            values = pa.array(np.asarray(values, dtype=object), type=pa.large_string())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as err:
            raise DataFormatError(f"Column {column!r} must hold strings: {err}") from None
    if pa.types.is_string(values.type):
        values = values.cast(pa.large_string())
    if not pa.types.is_large_string(values.type):
        raise DataFormatError(f"Column {column!r} must hold strings; got {values.type}.")
    if values.null_count:
        row = int(np.flatnonzero(values.is_null().to_numpy(zero_copy_only=False))[0])
        raise DataFormatError(f"Column {column!r}: row {row} is null; expected a string in every row.")
    _, offsets_buf, data_buf = values.buffers()
    n = len(values)
    offsets = np.frombuffer(offsets_buf, dtype=np.int64, count=n + 1, offset=values.offset * 8)
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None and data_buf.size
        else np.zeros(0, np.uint8)
    )  # fmt: skip
    return offsets, data, values


def _string_array(values: Any, column: str) -> pa.Array:
    """A string column as one Arrow array, rejecting nulls (naming the row) and non-strings."""
    return _string_buffers(values, column)[2]


def parse_ipv4(values: Any, *, column: str = "ip", first_row: int = 0) -> np.ndarray:
    """Parse dotted-decimal IPv4 strings into their 32-bit values (as int64).

    Parameters
    ----------
    values : array-like of str, pyarrow string array
        The addresses.
    column : str
        Column name for error messages.
    first_row : int
        Row number of ``values[0]`` in the user's data, for error messages.

    Raises
    ------
    DataFormatError
        Naming the first row that is null or not an IPv4 address, and its value.

    Examples
    --------
    >>> parse_ipv4(["10.0.0.1"]).tolist()
    [167772161]
    >>> parse_ipv4(["10.0.0.1", "10.0.0.256"])
    Traceback (most recent call last):
    ...
    sagespark.errors.DataFormatError: Column 'ip', row 1: '10.0.0.256' is not an IPv4 address; ...
    """
    array = _string_array(values, column)
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    # RE2 checks the exact grammar in C; only then is the split-and-cast safe.
    valid = pc.match_substring_regex(array, _IPV4_PATTERN)
    if not pc.all(valid).as_py():
        bad = ~valid.to_numpy(zero_copy_only=False)
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"Column {column!r}, row {first_row + row}: {array[row].as_py()!r} is not an IPv4 address; "
            "expected four decimal numbers 0-255 separated by dots, without leading zeros "
            "(e.g. '192.168.1.20')."
        )
    parts = pc.list_flatten(pc.split_pattern(array, "."))
    quads = pc.cast(parts, pa.int64()).to_numpy(zero_copy_only=False).reshape(-1, 4)
    return (quads[:, 0] << 24) | (quads[:, 1] << 16) | (quads[:, 2] << 8) | quads[:, 3]


def octets(ips: np.ndarray) -> np.ndarray:
    """The four octets (most significant first) of 32-bit addresses, as an ``n × 4`` int64 array."""
    ips = np.asarray(ips, dtype=np.int64)
    shifts = np.array([24, 16, 8, 0], dtype=np.int64)
    return (ips[:, None] >> shifts[None, :]) & 0xFF


def format_ipv4(ips: np.ndarray) -> np.ndarray:
    """Dotted-decimal strings of 32-bit addresses (an object array); the inverse of :func:`parse_ipv4`.

    Examples
    --------
    >>> format_ipv4(np.array([3232235777])).tolist()
    ['192.168.1.1']
    """
    parts = octets(ips).astype(str)
    out = np.char.add(np.char.add(np.char.add(parts[:, 0], "."), np.char.add(parts[:, 1], ".")),
                      np.char.add(np.char.add(parts[:, 2], "."), parts[:, 3]))
    return out.astype(object)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """murmur3's 64-bit finaliser: every input bit affects every output bit."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


def hash_entities(values: Any, num_buckets: int, *, column: str = "entity") -> np.ndarray:
    """Hash entity ids into ``[0, num_buckets)`` (int64), stably across processes and platforms.

    ``h = fmix64(seed·P^L + Σ b_i·P^(L-1-i) + L)`` over the UTF-8 bytes ``b`` (``L`` of them), with
    wrapping uint64 arithmetic: the sum is one multiply and one segmented reduction over the whole
    column's bytes.

    Raises
    ------
    DataFormatError
        When a row is null or not a string.

    Examples
    --------
    >>> first = hash_entities(["user-1", "user-2"], 2**20)
    >>> bool((first == hash_entities(np.array(["user-1", "user-2"], dtype=object), 2**20)).all())
    True
    """
    offsets, data, _ = _string_buffers(values, column)
    n = len(offsets) - 1
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lengths = np.diff(offsets)
    total = int(offsets[-1] - offsets[0])
    max_len = int(lengths.max()) if n else 0
    with np.errstate(over="ignore"):
        # powers[k] = P^k mod 2^64 (uint64 products wrap, which is the modulus we want).
        powers = np.cumprod(np.concatenate([[np.uint64(1)], np.full(max_len, _PRIME, np.uint64)]))
        h = _SEED * powers[lengths]
        if total:
            flat = data[int(offsets[0]) : int(offsets[-1])].astype(np.uint64)
            row_of_byte = np.repeat(np.arange(n), lengths)  # only for each byte's row end
            ends = (offsets[1:] - offsets[0])[row_of_byte]
            position_from_end = ends - 1 - np.arange(total)
            weighted = flat * powers[position_from_end]
            sums = np.zeros(n, dtype=np.uint64)
            nonempty = lengths > 0
            sums[nonempty] = np.add.reduceat(weighted, (offsets[:-1] - offsets[0])[nonempty])
            h = h + sums
        h = _fmix64(h + lengths.astype(np.uint64))
    return (h % np.uint64(num_buckets)).astype(np.int64)
