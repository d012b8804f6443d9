"""Read and write arbitrary Record messages with the generated protobuf classes.

:func:`~sagespark.formats.decoder.decode` turns streams into matrices; these helpers give the Record
messages themselves, for content a matrix cannot hold (named features, ``Bytes`` values, uid and
metadata). One Python object per record: use them for inspection and small data, not for bulk rows.

Examples
--------
>>> import io
>>> r = Record(uid="row-1")
>>> r.features["image"].bytes.value.append(b"\\x89PNG")
>>> f = io.BytesIO()
>>> write_records_pb(f, [r])
36
>>> _ = f.seek(0)
>>> [x.uid for x in read_records(f)]
['row-1']
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from sagespark.formats._generated.record_pb2 import Record
from sagespark.formats.fallback import parse_record
from sagespark.formats.recordio import iter_records_at, write_records

__all__ = ["Record", "read_records", "write_records_pb"]


def read_records(f: BinaryIO) -> Iterator[Record]:
    """Yield every Record of a RecordIO-protobuf file object, streaming.

    Raises
    ------
    DataFormatError
        Corrupt framing (with the byte offset) or a payload that is not a Record (with its index).
    """
    for index, (offset, payload) in enumerate(iter_records_at(f)):
        yield parse_record(payload, index, offset)


def write_records_pb(f: BinaryIO, records: Iterable[Record]) -> int:
    """Write Record messages as RecordIO records; return the number of bytes written."""
    return write_records(f, (record.SerializeToString() for record in records))
