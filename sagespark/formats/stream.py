"""Streaming read and write of RecordIO-protobuf files in bounded batches.

:func:`read` never holds more than about ``max_batch_bytes`` of the input (or one record, if a single
record is larger) and yields one :class:`~sagespark.formats.decoder.RecordBatch` per chunk; error
messages carry absolute byte offsets and record indices. :func:`write` encodes in row blocks, so
memory stays bounded for large inputs.

Examples
--------
>>> import io
>>> import numpy as np
>>> f = io.BytesIO()
>>> write(f, np.ones((10, 3), dtype=np.float32))
360
>>> _ = f.seek(0)
>>> [len(batch) for batch in read(f, max_batch_bytes=160)]
[4, 4, 2]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError
from sagespark.formats.decoder import RecordBatch, decode_frames
from sagespark.formats.encoder import check_labels, encode
from sagespark.formats.scan import scan_frames

__all__ = ["read", "write"]

_WRITE_BLOCK_BYTES = 64 << 20


def _read_up_to(f: BinaryIO, n: int) -> bytes:
    chunks = []
    while n > 0:
        chunk = f.read(n)
        if not chunk:
            break
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read(f: BinaryIO, *, max_batch_bytes: int = 64 << 20) -> Iterator[RecordBatch]:
    """Yield the records of a binary file object in batches of about ``max_batch_bytes`` input bytes.

    Parameters
    ----------
    f : binary file object
        Read sequentially with ``f.read``; pipes and sockets work.
    max_batch_bytes : int
        Target input bytes per batch. A record larger than this makes a batch of its own.

    Raises
    ------
    DataFormatError
        As :func:`~sagespark.formats.decoder.decode`, with offsets counted from where reading started.
    """
    if max_batch_bytes < 1:
        raise DataFormatError(f"max_batch_bytes must be a positive int; got {max_batch_bytes}.")
    pending = b""
    offset = 0
    index = 0
    stalled = False
    while True:
        want = max(max_batch_bytes - len(pending), 1)
        if stalled:  # the pending record is bigger than a batch: grow geometrically, never byte by byte
            want = max(want, len(pending))
        data = _read_up_to(f, want)
        eof = len(data) < want
        buf = pending + data if pending else data
        frames = scan_frames(np.frombuffer(buf, dtype=np.uint8), base_offset=offset, final=eof)
        if len(frames):
            yield decode_frames(frames, first_index=index)
            index += len(frames)
        stalled = frames.consumed == 0
        pending = buf[frames.consumed :]
        offset += frames.consumed
        if eof:
            return


def write(f: BinaryIO, features: Any, labels: Any = None) -> int:
    """Encode ``features`` (and labels) to ``f`` in row blocks; return the bytes written.

    Parameters
    ----------
    f : binary file object
    features : numpy.ndarray of shape (n, d), or scipy.sparse matrix
    labels : array-like of shape (n,), optional
    """
    n = features.shape[0] if hasattr(features, "shape") else len(features)
    label_arr = check_labels(labels, n)
    if sp.issparse(features):
        csr = features.tocsr()
        per_row = max(1, 12 * csr.nnz // max(n, 1) + 48)
    else:
        csr = np.asarray(features)
        per_row = max(1, csr.dtype.itemsize * int(np.prod(csr.shape[1:])) + 48)
    block = max(1, _WRITE_BLOCK_BYTES // per_row)
    total = 0
    for lo in range(0, max(n, 1), block):
        hi = min(n, lo + block)
        data = encode(csr[lo:hi], None if label_arr is None else label_arr[lo:hi])
        f.write(data)
        total += len(data)
    return total
