"""RecordIO-protobuf, SageMaker's training and inference data format, read and written fast.

* framing: :func:`frame`, :func:`write_records`, :func:`iter_records` (dmlc RecordIO, streaming);
* matrices: :func:`encode` / :func:`write` turn a dense array or CSR matrix (plus labels) into a stream
  with one Record per row, byte-identical to the SageMaker SDK's writers; :func:`decode` / :func:`read`
  turn any stream of Records back into a :class:`RecordBatch`;
* inference responses: :func:`encode_outputs` / :func:`decode_outputs`;
* arbitrary Records: :class:`Record`, :func:`read_records`, :func:`write_records_pb`.

Text formats (CSV, JSON, JSON Lines, libsvm) live in :mod:`sagespark.formats.text`.

Examples
--------
>>> import numpy as np
>>> from sagespark.formats import decode, encode
>>> batch = decode(encode(np.eye(3, dtype=np.float32), labels=np.arange(3.0)))
>>> batch.features.shape, batch.labels.tolist()
((3, 3), [0.0, 1.0, 2.0])
"""

from sagespark.formats.decoder import RecordBatch, decode
from sagespark.formats.encoder import encode
from sagespark.formats.outputs import decode_outputs, encode_outputs
from sagespark.formats.recordio import frame, iter_records, write_records
from sagespark.formats.records import Record, read_records, write_records_pb
from sagespark.formats.stream import read, write

__all__ = [
    "RecordBatch",
    "Record",
    "decode",
    "decode_outputs",
    "encode",
    "encode_outputs",
    "frame",
    "iter_records",
    "read",
    "read_records",
    "write",
    "write_records",
    "write_records_pb",
]
