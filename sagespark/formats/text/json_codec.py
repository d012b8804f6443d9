"""JSON and JSON Lines bodies in SageMaker's shapes.

Requests: ``{"instances": [...]}`` (see :mod:`sagespark.formats.text.instances` for the instance forms),
a bare list of instances, or one instance object; JSON Lines holds one instance per line.
Responses: ``{"<response_key>": [{"<output>": value, ...}, ...]}`` (``"predictions"``, PCA's
``"projections"``), and for JSON Lines one such row object per line.

Examples
--------
>>> import numpy as np
>>> decode_json(b'{"instances": [{"features": [1, 2]}]}')
array([[1., 2.]], dtype=float32)
>>> encode_json_outputs({"score": np.array([0.5])}, ["score"], "predictions")
b'{"predictions":[{"score":0.5}]}'
>>> decode_jsonlines(b'[1, 2]\\n{"features": [3, 4]}\\n').tolist()
[[1.0, 2.0], [3.0, 4.0]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError
from sagespark.formats.text.instances import instances_to_matrix, matrix_to_instances

__all__ = [
    "decode_json",
    "load_json",
    "decode_jsonlines",
    "encode_json_outputs",
    "encode_jsonlines_outputs",
    "decode_json_outputs",
    "decode_jsonlines_outputs",
    "encode_json_request",
    "encode_jsonlines_request",
]

_COMPACT = (",", ":")


def load_json(body: bytes | memoryview | str, what: str) -> Any:
    """Parse JSON; a bad body is a :class:`DataFormatError` naming ``what`` and the byte offset."""
    try:
        return json.loads(bytes(body) if isinstance(body, memoryview) else body)
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{what} is not valid UTF-8 at byte offset {err.start}.") from None
    except json.JSONDecodeError as err:
        raise DataFormatError(
            f"{what} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno} "
            f"(byte offset {err.pos})."
        ) from None


def decode_json(body: bytes | memoryview | str) -> np.ndarray | sp.csr_matrix:
    """Decode an ``application/json`` request into a feature matrix.

    Raises
    ------
    DataFormatError
        For invalid JSON (with line, column and offset) or a malformed instance (with its index).
    """
    doc = load_json(body, "JSON body")
    if isinstance(doc, dict) and "instances" in doc:
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise DataFormatError('"instances" must be a list of instances.')
    elif isinstance(doc, list):
        # A flat list of numbers is one row; otherwise a list of instances.
        is_row = bool(doc) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in doc)
        instances = [doc] if is_row else doc
    elif isinstance(doc, dict) and ("features" in doc or "data" in doc):
        instances = [doc]
    else:
        raise DataFormatError(
            'JSON body must be {"instances": [...]}, a list of instances, or one instance object.'
        )
    return instances_to_matrix(instances)


def _split_lines(text: bytes) -> tuple[list[bytes], list[int]]:
    lines, numbers = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            lines.append(line)
            numbers.append(number)
    return lines, numbers


def decode_jsonlines(body: bytes | memoryview | str) -> np.ndarray | sp.csr_matrix:
    """Decode an ``application/jsonlines`` request (one instance per line).

    The lines are parsed as one JSON array in a single ``json.loads`` call; only when that fails are
    they parsed one by one, to name the bad line.

    Raises
    ------
    DataFormatError
        Naming the line that is not valid JSON or not a valid instance.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    lines, numbers = _split_lines(raw)
    if not lines:
        raise DataFormatError("JSON Lines body is empty: expected one instance per line.")
    try:
        instances = json.loads(b"[" + b",".join(lines) + b"]")
    except (json.JSONDecodeError, UnicodeDecodeError):
        for line, number in zip(lines, numbers):
            load_json(line, f"JSON Lines line {number}")
        raise DataFormatError("JSON Lines body is not valid JSON.") from None
    if len(instances) != len(lines):  # a line holding "1, 2" would merge into the array
        for line, number in zip(lines, numbers):
            value = load_json(line, f"JSON Lines line {number}")
            if not isinstance(value, (list, dict)):
                raise DataFormatError(f"JSON Lines line {number}: expected an instance object or a list.")
        raise DataFormatError("JSON Lines body has a line that is not one instance.")
    return instances_to_matrix(instances, locations=[f"line {n}" for n in numbers])


def _rows(outputs: Mapping[str, np.ndarray], names: Sequence[str]) -> list[dict[str, Any]]:
    columns = [np.asarray(outputs[name]).tolist() for name in names]
    if not columns:
        return []
    return [dict(zip(names, values)) for values in zip(*columns)]


def encode_json_outputs(outputs: Mapping[str, np.ndarray], names: Sequence[str], response_key: str) -> bytes:
    """``{"<response_key>": [{name: value, ...}, ...]}``, vectors as lists.

    Examples
    --------
    >>> encode_json_outputs({"projection": np.array([[1.0, 2.0]])}, ["projection"], "projections")
    b'{"projections":[{"projection":[1.0,2.0]}]}'
    """
    return json.dumps({response_key: _rows(outputs, names)}, separators=_COMPACT).encode()


def encode_jsonlines_outputs(outputs: Mapping[str, np.ndarray], names: Sequence[str]) -> bytes:
    """One row object per line."""
    rows = _rows(outputs, names)
    if not rows:
        return b""
    dumps = json.JSONEncoder(separators=_COMPACT).encode
    return ("\n".join(map(dumps, rows)) + "\n").encode()


def _columns(rows: list[Any], names: Sequence[str] | None, what: str) -> dict[str, np.ndarray]:
    if not rows:
        return {name: np.empty(0) for name in names or ()}
    if names is None:
        if not isinstance(rows[0], dict):
            raise DataFormatError(f"{what}: expected row objects; got {type(rows[0]).__name__}.")
        names = list(rows[0])
    out: dict[str, np.ndarray] = {}
    for name in names:
        try:
            values = [row[name] for row in rows]
        except (KeyError, TypeError):
            bad = next(i for i, row in enumerate(rows) if not isinstance(row, dict) or name not in row)
            raise DataFormatError(f"{what}: row {bad} has no field {name!r}.") from None
        try:
            column = np.array(values)
        except ValueError:
            raise DataFormatError(f"{what}: field {name!r} has rows of different lengths.") from None
        if column.dtype.kind in "iub":
            column = column.astype(np.float64)
        out[name] = column
    return out


def decode_json_outputs(body: bytes | str, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Parse a JSON response into one array per output (``names`` default to the first row's keys).

    Accepts ``{"<any key>": [rows]}`` (the response key is not needed) or a bare list of rows.
    """
    doc = load_json(body, "JSON response")
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise DataFormatError(f"JSON response must hold one list of rows; got keys {sorted(doc)}.")
        rows = lists[0]
    elif isinstance(doc, list):
        rows = doc
    else:
        raise DataFormatError("JSON response must be an object holding a list of rows.")
    return _columns(rows, names, "JSON response")


def decode_jsonlines_outputs(body: bytes | str, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Parse a JSON Lines response (one row object per line)."""
    raw = body.encode() if isinstance(body, str) else bytes(body)
    lines, _ = _split_lines(raw)
    rows = load_json(b"[" + b",".join(lines) + b"]", "JSON Lines response") if lines else []
    return _columns(rows, names, "JSON Lines response")


def encode_json_request(features: np.ndarray | sp.spmatrix) -> bytes:
    """``{"instances": [...]}`` for a feature matrix (sparse rows as keys/values/shape)."""
    return json.dumps({"instances": matrix_to_instances(features)}, separators=_COMPACT).encode()


def encode_jsonlines_request(features: np.ndarray | sp.spmatrix) -> bytes:
    """One instance object per line."""
    dumps = json.JSONEncoder(separators=_COMPACT).encode
    return ("\n".join(map(dumps, matrix_to_instances(features))) + "\n").encode()
