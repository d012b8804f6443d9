"""The general path: read a record with the generated protobuf classes and restate it canonically.

Any valid protobuf encoding of a Record is accepted here (fields in any order, unpacked repeated
fields, repeated occurrences, multi-dimensional shapes). What :func:`~sagespark.formats.decoder.decode`
cannot represent as one row of a matrix plus an optional scalar label (other map keys, ``Bytes``
values, ``uid`` / ``metadata`` / ``configuration``, multi-valued labels) raises
:class:`~sagespark.errors.DataFormatError` naming the record, rather than being dropped; read such
streams with :func:`~sagespark.formats.records.read_records`, which returns the Record messages.

Examples
--------
>>> from sagespark.formats._generated.record_pb2 import Record
>>> r = Record()
>>> r.features["values"].float64_tensor.values.extend([1.0, 2.0])
>>> r.features["values"].float64_tensor.shape.extend([1, 2])
>>> canonical(r.SerializeToString(), 0, 0) == canonical(canonical(r.SerializeToString(), 0, 0), 0, 0)
True
"""

from __future__ import annotations

import math

from google.protobuf.message import DecodeError

from sagespark.errors import DataFormatError
from sagespark.formats._generated.record_pb2 import Record

__all__ = ["canonical", "parse_record"]

_TENSORS = ("float32_tensor", "float64_tensor", "int32_tensor")


def parse_record(payload: bytes, index: int, offset: int) -> Record:
    """Parse one payload with the generated class; DataFormatError names the record and offset."""
    record = Record()
    try:
        record.ParseFromString(payload)
    except DecodeError as err:
        raise DataFormatError(
            f"Record {index} at byte offset {offset} is not a valid aialgs.data.Record protobuf: {err}."
        ) from None
    return record


def map_keys(field: object) -> list[str]:
    """A map's keys, sorted; proto2 does not check UTF-8, so undecodable keys come back as ``repr``."""
    return sorted(key if isinstance(key, str) else repr(key) for key in field)  # type: ignore[attr-defined]


def _where(index: int, offset: int) -> str:
    return f"Record {index} at byte offset {offset}"


def _tensor(value: object, where: str, what: str) -> tuple[str, object]:
    kind = value.WhichOneof("value")  # type: ignore[attr-defined]
    if kind not in _TENSORS:
        found = "no value" if kind is None else f"a {kind} value"
        raise DataFormatError(
            f"{where}: {what} holds {found}; expected a Float32Tensor, Float64Tensor or Int32Tensor. "
            "Use sagespark.formats.read_records() to read Records of any content."
        )
    return kind, getattr(value, kind)


def canonical(payload: bytes, index: int, offset: int) -> bytes:
    """The canonical encoding of a record the lockstep parser did not accept.

    Raises
    ------
    DataFormatError
        If the record is not valid protobuf, or holds content a feature matrix cannot represent.
    """
    record = parse_record(payload, index, offset)
    where = _where(index, offset)
    for name in ("uid", "metadata", "configuration"):
        if record.HasField(name):
            raise DataFormatError(
                f"{where} sets the '{name}' field, which decode() would drop. Use "
                "sagespark.formats.read_records() to read Records with uid, metadata or configuration."
            )
    extra = [key for key in map_keys(record.features) if key != "values"]
    if extra or "values" not in record.features:
        raise DataFormatError(
            f"{where} has features {map_keys(record.features)}; decode() expects exactly one feature "
            "'values'. Use sagespark.formats.read_records() for Records with other features."
        )
    kind, tensor = _tensor(record.features["values"], where, "feature 'values'")
    out = Record()
    target = getattr(out.features["values"], kind)
    target.SetInParent()
    target.values.extend(tensor.values)  # type: ignore[attr-defined]
    target.keys.extend(tensor.keys)  # type: ignore[attr-defined]
    shape = list(tensor.shape)  # type: ignore[attr-defined]
    if shape:
        target.shape.append(math.prod(shape))
    labels = map_keys(record.label)
    if labels:
        if labels != ["values"]:
            raise DataFormatError(
                f"{where} has labels {labels}; decode() expects at most one label 'values'. "
                "Use decode_outputs() or read_records() for named outputs."
            )
        label_kind, label = _tensor(record.label["values"], where, "label 'values'")
        if len(label.values) != 1 or len(label.keys) != 0:  # type: ignore[attr-defined]
            raise DataFormatError(
                f"{where}: label 'values' holds {len(label.values)} values"  # type: ignore[attr-defined]
                f"{' with keys' if len(label.keys) else ''}; expected exactly one dense value."  # type: ignore[attr-defined]
            )
        getattr(out.label["values"], label_kind).values.extend(label.values)  # type: ignore[attr-defined]
    return out.SerializeToString()
