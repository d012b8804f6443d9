"""Arrow batches → what algorithms consume (training :class:`ChannelData`, predict-time batches), and
predictions → Arrow (DESIGN.md section 1).

:func:`channel_data_from_arrow` runs inside every barrier task on the Arrow batches of its partition:
the batches are gathered into one zero-copy :class:`pyarrow.Table` and every column is decoded in a
single pass into one preallocated array (one copy from the Arrow buffers, no Python per row).

Examples
--------
>>> import numpy as np
>>> import pyarrow as pa
>>> from sagespark.algorithms.base import InputField, OutputField
>>> from sagespark.data.channels import channel_data_from_arrow, outputs_to_arrow
>>> from sagespark.data.vectors import matrix_to_vectors
>>> batch = pa.RecordBatch.from_arrays(
...     [matrix_to_vectors(np.eye(2)), pa.array([0.0, 1.0])], ["features", "label"])
>>> inputs = (InputField("features", "vector", "featuresCol"),
...           InputField("label", "double", "labelCol", required_for_training=False))
>>> data = channel_data_from_arrow([batch], inputs)
>>> data.features.shape, data.label.tolist()
((2, 2), [0.0, 1.0])
>>> outputs_to_arrow({"score": np.array([0.5, 0.25])}, (OutputField("score", "double"),)).num_rows
2
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from sagespark.algorithms.base import ChannelData, InputField, OutputField
from sagespark.data.vectors import (
    VECTOR_ARROW_TYPE,
    first_null_row,
    matrix_to_vectors,
    numeric_to_array,
    vectors_to_matrix,
)
from sagespark.errors import DataFormatError

if TYPE_CHECKING:
    from pyspark.sql.types import StructField

__all__ = [
    "channel_data_from_arrow",
    "batch_from_arrow",
    "outputs_to_arrow",
    "output_arrow_schema",
    "output_struct_fields",
]

_KINDS = ("vector", "double", "string")


def _decode(column: pa.ChunkedArray | pa.Array, field: InputField, *, required: bool) -> Any:
    """One input column → numpy / CSR. Optional inputs keep nulls (NaN / None) instead of failing."""
    if field.kind == "vector":
        return vectors_to_matrix(column, column=field.name, dtype=np.float32)
    if field.kind == "double":
        if column.null_count and not required:
            # Nulls of an optional input become NaN (to_numpy's rendering of float nulls).
            return np.asarray(pa.chunked_array(_chunks(column.cast(pa.float64()))).to_numpy())
        return numeric_to_array(column, column=field.name, dtype=np.float64)
    if field.kind == "string":
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            raise DataFormatError(f"Column {field.name!r}: expected a string column; got {column.type}.")
        if column.null_count and required:
            row = first_null_row(column)
            raise DataFormatError(
                f"Column {field.name!r}: row {row} is null; expected a string in every row."
            )
        return pa.chunked_array(_chunks(column), type=column.type).to_numpy().astype(object, copy=False)
    raise DataFormatError(f"Input {field.name!r} has unknown kind {field.kind!r}; expected one of {_KINDS}.")


def _chunks(column: pa.ChunkedArray | pa.Array) -> list[pa.Array]:
    return list(column.chunks) if isinstance(column, pa.ChunkedArray) else [column]


def _empty(field: InputField) -> Any:
    if field.kind == "vector":
        return np.empty((0, 0), dtype=np.float32)
    if field.kind == "double":
        return np.empty(0, dtype=np.float64)
    return np.empty(0, dtype=object)


def _place(data: ChannelData, name: str, value: Any) -> None:
    if name == "features":
        data.features = value
    elif name == "label":
        data.label = value
    else:
        data.columns[name] = value


def channel_data_from_arrow(batches: Iterable[pa.RecordBatch], inputs: tuple[InputField, ...]) -> ChannelData:
    """Decode one worker's share of a channel, read once, into numpy / CSR.

    Parameters
    ----------
    batches : iterable of pyarrow.RecordBatch
        The partition's batches, columns named by :attr:`InputField.name`.
    inputs : tuple of InputField
        The algorithm's inputs. ``"features"`` becomes :attr:`ChannelData.features` (float32 dense or
        CSR), ``"label"`` :attr:`ChannelData.label` (float64), anything else goes to
        :attr:`ChannelData.columns` (vectors as float32 matrices, doubles as float64, strings as object
        arrays).

    Returns
    -------
    ChannelData
        An empty partition gives zero-row arrays for required inputs (``(0, 0)`` for vectors) and
        ``None`` for optional ones.

    Raises
    ------
    DataFormatError
        A required input is missing, or null in some row (the message names the column and the row,
        counted from the partition's first row), or has the wrong type.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from sagespark.algorithms.base import InputField
    >>> batch = pa.RecordBatch.from_arrays([pa.array([[1.0, 2.0], [3.0, 4.0]])], ["features"])
    >>> channel_data_from_arrow([batch], (InputField("features", "vector", "featuresCol"),)).features
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    """
    collected = list(batches)
    data = ChannelData(features=None)
    if not collected:
        for field in inputs:
            _place(data, field.name, _empty(field) if field.required_for_training else None)
        return data
    # Zero copy: the table's columns are chunked arrays over the batches' own buffers.
    try:
        table = pa.Table.from_batches(collected)
    except pa.ArrowInvalid as err:
        raise DataFormatError(f"The partition's Arrow batches disagree on their schema: {err}") from err
    for field in inputs:
        if field.name not in table.column_names:
            if field.required_for_training:
                raise DataFormatError(
                    f"Required input column {field.name!r} is missing; the batch has columns "
                    f"{table.column_names}."
                )
            continue
        value = _decode(table.column(field.name), field, required=field.required_for_training)
        _place(data, field.name, value)
    return data


def batch_from_arrow(batch: pa.RecordBatch, inputs: tuple[InputField, ...]) -> dict[str, Any]:
    """Decode one Arrow batch into the mapping :meth:`Predictor.predict` takes.

    Only inputs with ``used_for_prediction`` are decoded; each must be present and non-null.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from sagespark.algorithms.base import InputField
    >>> batch = pa.RecordBatch.from_arrays([pa.array([[1.0, 2.0]])], ["features"])
    >>> batch_from_arrow(batch, (InputField("features", "vector", "featuresCol"),))["features"].shape
    (1, 2)
    """
    out: dict[str, Any] = {}
    names = batch.schema.names
    for field in inputs:
        if not field.used_for_prediction:
            continue
        if field.name not in names:
            raise DataFormatError(
                f"Input column {field.name!r} is needed for prediction; the batch has columns {names}."
            )
        out[field.name] = _decode(batch.column(field.name), field, required=True)
    return out


def _output_array(name: str, kind: str, value: Any, n: int | None) -> pa.Array:
    if kind == "vector":
        matrix = value if sp.issparse(value) else np.asarray(value)
        if not sp.issparse(matrix) and matrix.ndim == 1:
            matrix = matrix.reshape(-1, 1)
        array: pa.Array = matrix_to_vectors(matrix)
    elif kind == "double":
        column = np.asarray(value, dtype=np.float64)
        if column.ndim == 2 and column.shape[1] == 1:
            column = column[:, 0]
        if column.ndim != 1:
            raise DataFormatError(f"Output {name!r}: expected one number per row; got shape {column.shape}.")
        array = pa.array(column, type=pa.float64())
    elif kind == "string":
        array = pa.array(np.asarray(value, dtype=object), type=pa.string())
    else:
        raise DataFormatError(f"Output {name!r} has unknown kind {kind!r}; expected one of {_KINDS}.")
    if n is not None and len(array) != n:
        raise DataFormatError(f"Output {name!r} has {len(array)} rows; the other outputs have {n}.")
    return array


def outputs_to_arrow(outputs: Mapping[str, Any], fields: tuple[OutputField, ...]) -> pa.RecordBatch:
    """Predictions → one Arrow batch, a column per field in ``fields`` order.

    ``"double"`` outputs become float64, ``"vector"`` outputs Spark ML vectors (dense arrays → dense
    vectors, CSR → sparse), ``"string"`` outputs strings.

    Raises
    ------
    DataFormatError
        A field is missing from ``outputs`` or the outputs disagree on the number of rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sagespark.algorithms.base import OutputField
    >>> batch = outputs_to_arrow({"projection": np.ones((2, 3))}, (OutputField("projection", "vector"),))
    >>> batch.column(0).to_pylist()[0]["values"]
    [1.0, 1.0, 1.0]
    """
    arrays: list[pa.Array] = []
    n: int | None = None
    for field in fields:
        if field.name not in outputs:
            raise DataFormatError(
                f"The predictor returned no {field.name!r} output; it returned {sorted(outputs)}."
            )
        array = _output_array(field.name, field.kind, outputs[field.name], n)
        n = len(array)
        arrays.append(array)
    return pa.RecordBatch.from_arrays(arrays, schema=output_arrow_schema(fields))


def output_arrow_schema(fields: tuple[OutputField, ...]) -> pa.Schema:
    """The Arrow schema :func:`outputs_to_arrow` produces for ``fields``.

    Examples
    --------
    >>> from sagespark.algorithms.base import OutputField
    >>> output_arrow_schema((OutputField("score", "double"),)).names
    ['score']
    """
    types = {"double": pa.float64(), "vector": VECTOR_ARROW_TYPE, "string": pa.string()}
    for field in fields:
        if field.kind not in types:
            raise DataFormatError(f"Output {field.name!r} has unknown kind {field.kind!r}.")
    return pa.schema([pa.field(f.name, types[f.kind]) for f in fields])


def output_struct_fields(fields: tuple[OutputField, ...]) -> list[StructField]:
    """Spark schema fields for the outputs: double → DoubleType, vector → VectorUDT, string → StringType.

    Examples
    --------
    >>> from sagespark.algorithms.base import OutputField
    >>> [f.dataType.simpleString() for f in output_struct_fields((OutputField("score", "double"),))]
    ['double']
    """
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType, StringType, StructField

    types = {"double": DoubleType(), "vector": VectorUDT(), "string": StringType()}
    result = []
    for field in fields:
        if field.kind not in types:
            raise DataFormatError(f"Output {field.name!r} has unknown kind {field.kind!r}.")
        result.append(StructField(field.name, types[field.kind], nullable=True))
    return result
