"""Requests whose rows are strings (IP Insights' ``entity,ip``) ⇄ one object array per input name.

Models whose inputs are all strings take rows of strings instead of numeric features, in the same
content types:

- ``text/csv``: one row per line, fields separated by commas, no header (``user1, 1.2.3.4``; blanks
  around a field are dropped; a field may be double-quoted, with ``""`` for a quote inside).
- ``application/json``: ``{"instances": [...]}`` (or a bare list of instances), each instance a list
  of strings, ``{"features": [...]}``, ``{"data": [...]}`` or ``{"data": {"features": {"values": [...]}}}``.
- ``application/jsonlines``: one such instance per line.

Examples
--------
>>> rows = decode_string_rows(b"user1, 1.2.3.4\\nuser2,5.6.7.8\\n", "text/csv", names=["entity", "ip"])
>>> rows["entity"].tolist(), rows["ip"].tolist()
(['user1', 'user2'], ['1.2.3.4', '5.6.7.8'])
>>> body = (b'{"instances": [{"data": {"features": {"values": ["u", "1.2.3.4"]}}}, '
...         b'{"features": ["v", "5.6.7.8"]}]}')
>>> decode_string_rows(body, "application/json", names=["entity", "ip"])["entity"].tolist()
['u', 'v']
>>> encode_string_rows(np.array([["u", "1.2.3.4"]], dtype=object), "application/jsonlines")
b'{"features":["u","1.2.3.4"]}\\n'
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from sagespark.errors import DataFormatError
from sagespark.formats.text.json_codec import load_json
from sagespark.formats.text.media import (
    CSV,
    JSON,
    JSONLINES,
    MediaType,
    UnsupportedMediaType,
    parse_media_type,
)

__all__ = ["decode_string_rows", "encode_string_rows", "STRING_ROW_TYPES"]

STRING_ROW_TYPES = (CSV, JSON, JSONLINES)
"""The content types string rows come in (RecordIO-protobuf carries numbers only)."""

_COMPACT = (",", ":")


def _media(value: str | MediaType) -> MediaType:
    return value if isinstance(value, MediaType) else parse_media_type(value)


def _columns(rows: list[list[str]], names: Sequence[str]) -> dict[str, np.ndarray]:
    table = np.empty((len(rows), len(names)), dtype=object)
    table[:] = rows
    return {name: table[:, i].copy() for i, name in enumerate(names)}


def _csv_rows(body: bytes, names: Sequence[str]) -> dict[str, np.ndarray]:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if not body.strip():
        raise DataFormatError(
            f"CSV body is empty: expected rows of {len(names)} fields ({', '.join(names)})."
        )
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=list(names)),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )  # fmt: skip
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise _diagnose_csv(body, names) from None
    return {
        n: pc.utf8_trim_whitespace(table.column(n)).to_numpy(zero_copy_only=False).astype(object, copy=False)
        for n in names
    }


def _diagnose_csv(body: bytes, names: Sequence[str]) -> DataFormatError:
    """Name the first line the C parser rejected (only runs on the error path)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        return DataFormatError(f"CSV body is not valid UTF-8 at byte offset {err.start}.")
    import csv

    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = next(csv.reader([line]), [])
        if len(fields) != len(names):
            return DataFormatError(
                f"CSV line {line_no} has {len(fields)} fields; expected {len(names)} ({', '.join(names)})."
            )
    return DataFormatError(f"CSV body could not be parsed: expected rows of {len(names)} fields.")


def _instance_values(instance: Any, where: str, width: int) -> list[str]:
    values = instance
    if isinstance(instance, dict):
        if "features" in instance:
            values = instance["features"]
        elif "data" in instance:
            values = instance["data"]
            if isinstance(values, dict) and isinstance(values.get("features"), dict):
                values = values["features"].get("values")
        else:
            values = None
    if not isinstance(values, list) or len(values) != width or not all(isinstance(v, str) for v in values):
        raise DataFormatError(
            f"{where}: expected a list of {width} strings (or an object with \"features\" / \"data\" holding "
            f"one); got {json.dumps(instance)[:200]}."
        )
    return values


def _instances(
    instances: Any, names: Sequence[str], locations: Sequence[str] | None
) -> dict[str, np.ndarray]:
    if not isinstance(instances, list) or not instances:
        raise DataFormatError("No instances in the request: expected at least one row.")
    width = len(names)
    rows = [
        _instance_values(inst, locations[i] if locations else f"instance {i}", width)
        for i, inst in enumerate(instances)
    ]
    return _columns(rows, names)


def decode_string_rows(
    body: bytes | memoryview | str, content_type: str | MediaType, *, names: Sequence[str]
) -> dict[str, np.ndarray]:
    """Decode a request of string rows into one object array per input (in ``names`` order).

    Raises
    ------
    UnsupportedMediaType
        For a content type other than CSV, JSON or JSON Lines.
    DataFormatError
        Naming the line or instance that does not hold ``len(names)`` strings.
    """
    media = _media(content_type)
    raw = body.encode() if isinstance(body, str) else bytes(body)
    if media.name == CSV:
        return _csv_rows(raw, names)
    if media.name == JSON:
        doc = load_json(raw, "JSON body")
        if isinstance(doc, dict) and "instances" in doc:
            return _instances(doc["instances"], names, None)
        if isinstance(doc, list) and doc and all(isinstance(v, str) for v in doc):
            return _instances([doc], names, None)  # a bare row
        return _instances(doc if isinstance(doc, list) else [doc], names, None)
    if media.name == JSONLINES:
        numbered = [(i, line) for i, line in enumerate(raw.splitlines(), start=1) if line.strip()]
        if not numbered:
            raise DataFormatError("JSON Lines body is empty: expected one instance per line.")
        instances = [load_json(line, f"JSON Lines line {i}") for i, line in numbered]
        return _instances(instances, names, [f"line {i}" for i, _ in numbered])
    raise UnsupportedMediaType(
        f"Content type {media.name!r} cannot carry string rows ({', '.join(names)}); use one of "
        f"{list(STRING_ROW_TYPES)}."
    )


def _csv_field(value: str) -> str:
    if any(c in value for c in ",\"\r\n"):
        return '"' + value.replace('"', '""') + '"'
    return value


def encode_string_rows(rows: np.ndarray, content_type: str | MediaType) -> bytes:
    """Encode an ``n × k`` array of strings as a request body (the client side of :func:`decode_string_rows`).

    Raises
    ------
    UnsupportedMediaType
        For a content type other than CSV, JSON or JSON Lines.
    """
    media = _media(content_type)
    table = np.asarray(rows, dtype=object)
    if table.ndim == 1:
        table = table.reshape(1, -1)
    values = [[str(v) for v in row] for row in table.tolist()]
    if media.name == CSV:
        return "".join(",".join(_csv_field(v) for v in row) + "\n" for row in values).encode()
    if media.name == JSON:
        return json.dumps({"instances": [{"features": row} for row in values]}, separators=_COMPACT).encode()
    if media.name == JSONLINES:
        dumps = json.JSONEncoder(separators=_COMPACT).encode
        return "".join(dumps({"features": row}) + "\n" for row in values).encode()
    raise UnsupportedMediaType(
        f"Content type {media.name!r} cannot carry string rows; use one of {list(STRING_ROW_TYPES)}."
    )
