"""Which columns a ``sagemaker`` write encodes, checked on the driver, and how a batch becomes records.

Options (case-insensitive, as Spark passes them):

``featuresCol``
    A Vector column (dense or sparse) or an ``array<numeric>`` column; default ``"features"``.
``featureCols``
    Comma-separated numeric columns, one feature each (instead of ``featuresCol``).
``labelCol``
    A numeric label column. Default ``"label"`` when the DataFrame has one; ``""`` writes no label.
``dtype``
    ``float32`` (default: what most SageMaker algorithms read) or ``float64``; features and labels.

Examples
--------
>>> from pyspark.ml.linalg import VectorUDT
>>> from pyspark.sql.types import DoubleType, StructField, StructType
>>> schema = StructType([StructField("features", VectorUDT()), StructField("label", DoubleType())])
>>> plan_write(schema, {})
WritePlan(features=('features',), stacked=False, label='label', dtype='float32')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sagespark.algorithms.base import Matrix
from sagespark.data.columns import vector_column_kind
from sagespark.data.vectors import numeric_to_array, vectors_to_matrix
from sagespark.errors import DataFormatError

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

__all__ = ["WritePlan", "plan_write", "batch_to_records"]

_DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class WritePlan:
    """The columns to encode and the value type; plain data, so it travels to the executors."""

    features: tuple[str, ...]
    stacked: bool  # True: ``features`` are numeric columns, one feature each
    label: str | None
    dtype: str


def _option(options: Mapping[str, str], name: str) -> str | None:
    # Spark hands Python data sources a case-insensitive dict; plain dicts (tests) may use any case.
    lowered = {key.lower(): value for key, value in options.items()}
    return lowered.get(name.lower())


def plan_write(schema: StructType, options: Mapping[str, str]) -> WritePlan:
    """Check the DataFrame's schema against the write options.

    Raises
    ------
    DataFormatError
        A named column is missing or has a type the writer cannot encode (naming the column, its type
        and what was expected), or ``dtype`` is unknown.

    Examples
    --------
    >>> from pyspark.sql.types import DoubleType, StructField, StructType
    >>> schema = StructType([StructField("a", DoubleType()), StructField("b", DoubleType())])
    >>> plan_write(schema, {"featureCols": "a, b", "labelCol": ""}).features
    ('a', 'b')
    """
    from pyspark.sql.types import NumericType

    types = {f.name: f.dataType for f in schema.fields}

    def missing(column: str, option: str) -> DataFormatError:
        return DataFormatError(
            f"Column {column!r} ({option}) does not exist; the DataFrame has columns {list(types)}."
        )

    dtype = (_option(options, "dtype") or "float32").strip().lower()
    if dtype not in _DTYPES:
        raise DataFormatError(f"The 'dtype' option must be one of {_DTYPES}. Got {dtype!r} instead.")

    feature_cols = _option(options, "featureCols")
    if feature_cols:
        names = tuple(name.strip() for name in feature_cols.split(",") if name.strip())
        for name in names:
            if name not in types:
                raise missing(name, "featureCols")
            if not isinstance(types[name], NumericType):
                raise DataFormatError(
                    f"Column {name!r} (featureCols) must be numeric; got {types[name].simpleString()}."
                )
        features, stacked = names, True
    else:
        name = _option(options, "featuresCol") or "features"
        if name not in types:
            raise missing(name, "featuresCol")
        if vector_column_kind(types[name]) not in ("vector", "array"):
            raise DataFormatError(
                f"Column {name!r} (featuresCol) must be a Vector or array<float|double|int> column; "
                f"got {types[name].simpleString()}. Use the featureCols option for numeric columns."
            )
        features, stacked = (name,), False

    label_option = _option(options, "labelCol")
    label = "label" if label_option is None and "label" in types else (label_option or None)
    if label is not None:
        if label not in types:
            raise missing(label, "labelCol")
        if not isinstance(types[label], NumericType):
            raise DataFormatError(
                f"Column {label!r} (labelCol) must be numeric; got {types[label].simpleString()}. "
                "Set labelCol to '' to write no label."
            )
    return WritePlan(features, stacked, label, dtype)


def batch_to_records(
    batch: pa.RecordBatch, plan: WritePlan, *, row_offset: int = 0
) -> tuple[Matrix, np.ndarray | None]:
    """Features and labels of one Arrow batch, as the encoder takes them.

    Vector columns decode to a dense array, or CSR when any row is sparse; numeric columns stack into
    a dense array. ``row_offset`` shifts row numbers in errors to count from the partition's start.

    Examples
    --------
    >>> import pyarrow as pa
    >>> batch = pa.RecordBatch.from_arrays([pa.array([1, 2]), pa.array([3.0, 4.0])], ["a", "b"])
    >>> x, y = batch_to_records(batch, WritePlan(("a", "b"), True, None, "float32"))
    >>> x.tolist(), y
    ([[1.0, 3.0], [2.0, 4.0]], None)
    """
    dtype = np.dtype(plan.dtype)
    features: Matrix
    if plan.stacked:
        features = np.empty((batch.num_rows, len(plan.features)), dtype=dtype)
        for j, name in enumerate(plan.features):
            features[:, j] = numeric_to_array(
                batch.column(name), column=name, dtype=dtype, row_offset=row_offset
            )
    else:
        name = plan.features[0]
        features = vectors_to_matrix(batch.column(name), column=name, dtype=dtype, row_offset=row_offset)
    labels = None
    if plan.label is not None:
        labels = numeric_to_array(
            batch.column(plan.label), column=plan.label, dtype=dtype, row_offset=row_offset
        )
    return features, labels
