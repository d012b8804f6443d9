"""CSV request and response bodies, SageMaker's way: no header, one row per line, ``label_size=0``.

Decoding parses the whole body at once (pandas' C parser for anything but tiny bodies) and only walks
the lines in Python to explain a failure, so an error names the line and column without slowing the
happy path.

Examples
--------
>>> import numpy as np
>>> decode_csv(b"1,2,3\\n4,5,6\\n")
array([[1., 2., 3.],
       [4., 5., 6.]], dtype=float32)
>>> encode_csv_matrix(np.array([[1.5, 2.0]], dtype=np.float32))
b'1.5,2\\n'
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError

__all__ = ["decode_csv", "encode_csv_matrix", "encode_csv_outputs", "decode_csv_outputs", "format_rows"]

# Below this size splitting in Python beats pandas' fixed start-up cost (about a millisecond).
_SMALL_BODY = 16 << 10


def _text(body: bytes | memoryview | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFormatError(
            f"CSV body is not valid UTF-8 at byte offset {err.start}: expected numbers separated by commas."
        ) from None


def _diagnose(text: str) -> DataFormatError:
    """Find the first bad line of a body the fast path rejected and say what is wrong with it."""
    width: int | None = None
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(",")
        if width is None:
            width = len(fields)
        elif len(fields) != width:
            return DataFormatError(
                f"CSV line {line_no} has {len(fields)} values; expected {width} like the first row."
            )
        for col_no, field in enumerate(fields, start=1):
            token = field.strip().strip('"').strip()
            try:
                value = float(token)
            except ValueError:
                return DataFormatError(
                    f"CSV line {line_no}, column {col_no}: could not convert {token!r} to a number."
                )
            if math.isnan(value):
                return DataFormatError(f"CSV line {line_no}, column {col_no}: missing value (NaN).")
    return DataFormatError("CSV body could not be parsed: expected numbers separated by commas.")


def decode_csv(body: bytes | memoryview | str, *, dtype: Any = np.float32) -> np.ndarray:
    """Parse a headerless numeric CSV body into a dense ``(rows, columns)`` array.

    Parameters
    ----------
    body : bytes, memoryview or str
        The request body; blank lines are skipped, ``\\r\\n`` line ends are accepted.
    dtype : numpy dtype
        Result type (``float32`` for features, as SageMaker's algorithms use).

    Raises
    ------
    DataFormatError
        Naming the line and column of a value that is not a number, a missing value, or a row whose
        width differs from the first row's.

    Examples
    --------
    >>> decode_csv("0.5,1\\n").shape
    (1, 2)
    """
    text = _text(body)
    if not text.strip():
        raise DataFormatError("CSV body is empty: expected at least one row of numbers.")
    if len(text) <= _SMALL_BODY:
        rows = [line.split(",") for line in text.splitlines() if line.strip()]
        try:
            array = np.array(rows, dtype=np.float64)
        except ValueError:
            raise _diagnose(text) from None
        if array.ndim != 2:
            raise _diagnose(text)
    else:
        import pandas as pd

        try:
            frame = pd.read_csv(io.StringIO(text), header=None, dtype=np.float64, engine="c")
        except (ValueError, pd.errors.ParserError):
            raise _diagnose(text) from None
        array = frame.to_numpy(dtype=np.float64)
    if np.isnan(array).any():
        raise _diagnose(text)
    return array.astype(dtype, copy=False)


def format_rows(array: np.ndarray) -> list[str]:
    """Each row of a 1-D or 2-D array as comma-separated text (round-trip exact).

    float32 values use 9 significant digits (enough to round-trip a float32) so bodies stay short;
    other floats use Python's shortest round-trip ``repr``.
    """
    matrix = array.reshape(len(array), -1)
    if matrix.dtype == np.float32:
        fmt = "{:.9g}".format
        return [",".join(map(fmt, row)) for row in matrix.tolist()]
    if matrix.dtype.kind in "fiub":
        return [",".join(map(repr, row)) for row in matrix.tolist()]
    return [",".join(map(str, row)) for row in matrix.tolist()]


def encode_csv_matrix(features: np.ndarray | sp.spmatrix) -> bytes:
    """Features as a CSV request body (sparse rows are densified: CSV has no sparse form).

    Examples
    --------
    >>> encode_csv_matrix(np.eye(2, dtype=np.float32))
    b'1,0\\n0,1\\n'
    """
    dense = sp.csr_matrix(features).toarray() if sp.issparse(features) else np.asarray(features)
    if dense.ndim == 1:
        dense = dense.reshape(1, -1)
    return ("\n".join(format_rows(dense)) + "\n").encode()


def encode_csv_outputs(outputs: Mapping[str, np.ndarray], names: Sequence[str]) -> bytes:
    """One line per row: the outputs in ``names`` order, vector outputs spread over their columns.

    Examples
    --------
    >>> encode_csv_outputs({"a": np.array([1.0, 2.0]), "b": np.array([0.5, 0.25])}, ["a", "b"])
    b'1.0,0.5\\n2.0,0.25\\n'
    """
    columns = [format_rows(np.asarray(outputs[name])) for name in names]
    if not columns or not columns[0]:
        return b""
    lines = columns[0] if len(columns) == 1 else [",".join(parts) for parts in zip(*columns)]
    return ("\n".join(lines) + "\n").encode()


def decode_csv_outputs(body: bytes | str, fields: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """Split a CSV response back into named outputs.

    ``fields`` lists ``(name, kind)`` in response order; each ``"double"`` field takes one column and
    at most one ``"vector"`` field takes the remaining columns.

    Raises
    ------
    DataFormatError
        When the column count cannot be matched to ``fields``.
    """
    text = _text(body)
    if not text.strip():
        return {name: np.empty((0,) if kind != "vector" else (0, 0)) for name, kind in fields}
    if any(kind == "string" for _, kind in fields):
        table = np.array([line.split(",") for line in text.splitlines() if line.strip()], dtype=object)
    else:
        table = decode_csv(text, dtype=np.float64)
    vectors = [name for name, kind in fields if kind == "vector"]
    scalar_count = len(fields) - len(vectors)
    if len(vectors) > 1 or (not vectors and table.shape[1] != scalar_count) or table.shape[1] < scalar_count:
        raise DataFormatError(
            f"CSV response has {table.shape[1]} columns, which cannot be split into outputs "
            f"{[name for name, _ in fields]}."
        )
    vector_width = table.shape[1] - scalar_count
    out: dict[str, np.ndarray] = {}
    col = 0
    for name, kind in fields:
        if kind == "vector":
            out[name] = table[:, col : col + vector_width]
            col += vector_width
        else:
            out[name] = table[:, col]
            col += 1
    return out
