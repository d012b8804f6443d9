"""Pick, check and rename a DataFrame's input columns to an algorithm's :class:`InputField` names.

Type checks run on the schema on the driver, before any job starts, so a wrong column fails fast with
a message naming the column and the types it may have.

Examples
--------
>>> from sagespark.algorithms.base import InputField
>>> from sagespark.data.columns import select_inputs
>>> inputs = (InputField("features", "vector", "featuresCol"),)
>>> select_inputs(df, inputs, {"featuresCol": "pixels"}).columns   # doctest: +SKIP
['features']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sagespark.algorithms.base import InputField
from sagespark.errors import DataFormatError

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

__all__ = ["dense_vector_columns", "input_columns", "select_inputs", "vector_column_kind"]

_EXPECTED = {
    "vector": "a Vector, array<numeric> or numeric column",
    "double": "a numeric column",
    "string": "a string column",
}


def vector_column_kind(data_type: DataType) -> str | None:
    """``"vector"``, ``"array"`` or ``"numeric"`` for the types a vector input accepts; else ``None``.

    Examples
    --------
    >>> from pyspark.ml.linalg import VectorUDT
    >>> vector_column_kind(VectorUDT())
    'vector'
    """
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import ArrayType, NumericType

    if isinstance(data_type, VectorUDT):
        return "vector"
    if isinstance(data_type, ArrayType) and isinstance(data_type.elementType, NumericType):
        return "array"
    if isinstance(data_type, NumericType):
        return "numeric"
    return None


def _converted(field: InputField, source: str, data_type: DataType) -> Column | None:
    """The column converted for ``field``; ``None`` when it is used as it is.

    Raises
    ------
    DataFormatError
        When the column's type does not fit the field.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import ArrayType, DecimalType, DoubleType, NumericType, StringType

    fits = True
    if field.kind == "vector":
        kind = vector_column_kind(data_type)
        fits = kind is not None
        if kind == "numeric":
            # A single number per row is a vector of size one.
            return F.array(F.col(f"`{source}`").cast("double"))
        if (
            kind == "array"
            and isinstance(data_type, ArrayType)
            and isinstance(data_type.elementType, DecimalType)
        ):
            # Arrow decimals have no numpy view; doubles do.
            return F.col(f"`{source}`").cast("array<double>")
    elif field.kind == "double":
        fits = isinstance(data_type, NumericType)
        if fits and not isinstance(data_type, DoubleType):
            return F.col(f"`{source}`").cast("double")
    elif field.kind == "string":
        fits = isinstance(data_type, StringType)
    else:
        raise DataFormatError(
            f"Input {field.name!r} has unknown kind {field.kind!r}; expected one of {sorted(_EXPECTED)}."
        )
    if not fits:
        raise DataFormatError(
            f"Column {source!r} ({field.param}) must be {_EXPECTED[field.kind]}; "
            f"got {data_type.simpleString()}."
        )
    return None


def _selection(
    df: DataFrame,
    inputs: tuple[InputField, ...],
    column_names: Mapping[str, str],
    *,
    for_training: bool,
) -> list[tuple[InputField, str, Column | None]]:
    """``(field, source column, conversion or None)`` for each input to select, checked."""
    types = {f.name: f.dataType for f in df.schema.fields}
    sources = {f.name: column_names.get(f.param) or column_names.get(f.name) or f.name for f in inputs}
    chosen: list[tuple[InputField, str, Column | None]] = []
    for field in inputs:
        source = sources[field.name]
        needed = field.required_for_training if for_training else field.used_for_prediction
        if not for_training and not field.used_for_prediction:
            continue
        if source not in types:
            if needed:
                raise DataFormatError(
                    f"Column {source!r} ({field.param}) does not exist; the DataFrame has columns "
                    f"{list(types)}."
                )
            continue
        chosen.append((field, source, _converted(field, source, types[source])))
    return chosen


def select_inputs(
    df: DataFrame,
    inputs: tuple[InputField, ...],
    column_names: Mapping[str, str],
    *,
    for_training: bool = True,
) -> DataFrame:
    """Select the algorithm's input columns, check their types, and rename them to the input names.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The user's DataFrame.
    inputs : tuple of InputField
        The algorithm's inputs.
    column_names : Mapping[str, str]
        The user's column for each input, keyed by the input's column Param (``"featuresCol"``) or by
        its name (``"features"``); an input not mentioned uses a column named like the input.
    for_training : bool
        ``True``: inputs ``required_for_training`` must exist, others are taken when present.
        ``False``: inputs ``used_for_prediction`` must exist, the rest are left out.

    Returns
    -------
    pyspark.sql.DataFrame
        One column per selected input, named by :attr:`InputField.name`: vectors stay Vectors or
        numeric arrays (a plain numeric column becomes a one-element array), doubles are cast to
        double, strings stay strings.

    Raises
    ------
    DataFormatError
        A needed column is missing (listing the columns there are) or has the wrong type (naming the
        column, its type, and the types expected).

    Examples
    --------
    >>> from sagespark.algorithms.base import InputField
    >>> label = InputField("label", "double", "labelCol")
    >>> out = select_inputs(df, (label,), {"labelCol": "y"})  # doctest: +SKIP
    >>> out.schema.simpleString()  # doctest: +SKIP
    'struct<label:double>'
    """
    chosen = _selection(df, inputs, column_names, for_training=for_training)
    names = [field.name for field, _, _ in chosen]
    if df.columns == names and all(source == field.name and c is None for field, source, c in chosen):
        return df  # already the inputs: a select would only cost its analysis (~30 ms per fit)
    return df.select(*_columns(chosen, set()))


def input_columns(
    df: DataFrame,
    inputs: tuple[InputField, ...],
    column_names: Mapping[str, str],
    *,
    for_training: bool = True,
    float32_vectors: bool = False,
) -> list[Column]:
    """The column expressions :func:`select_inputs` selects, each aliased to its input's name.

    ``float32_vectors``: Vector columns whose first row is dense become ``array<float>``
    (:func:`dense_vector_columns`), the cheap form for Arrow.
    """
    chosen = _selection(df, inputs, column_names, for_training=for_training)
    vectors = [source for field, source, _ in chosen if field.kind == "vector"]
    return _columns(chosen, dense_vector_columns(df, vectors) if float32_vectors else set())


def _columns(chosen: list[tuple[InputField, str, Column | None]], dense: set[str]) -> list[Column]:
    """The selected columns, each aliased to its input's name; ``dense`` vectors as ``array<float>``."""
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    selected: list[Column] = []
    for field, source, converted in chosen:
        column = F.col(f"`{source}`") if converted is None else converted
        if field.kind == "vector" and source in dense:
            column = vector_to_array(column, "float32")
        selected.append(column.alias(field.name))
    return selected


def dense_vector_columns(df: DataFrame, names: list[str]) -> set[str]:
    """The Vector columns among ``names`` whose first row is a dense vector (one small Spark job).

    Spark hands a Vector to Arrow as a struct whose float64 values the JVM copies one by one, about five
    times slower than the same row as ``array<float>`` (``vector_to_array(col, "float32")``), which is
    also half the bytes. Dense data takes the array form; sparse data keeps the vector form, since a
    dense array of a wide sparse row could be huge (a sparse row in data that starts dense is still
    decoded correctly, only densified). Streaming DataFrames are not probed.

    Examples
    --------
    >>> dense_vector_columns(df, ["features"])   # doctest: +SKIP
    {'features'}
    """
    from pyspark.ml.linalg import DenseVector, VectorUDT

    types = {f.name: f.dataType for f in df.schema.fields}
    wanted = [n for n in names if isinstance(types.get(n), VectorUDT)]
    if not wanted or df.isStreaming:
        return set()
    first = df.select(*[f"`{n}`" for n in wanted]).head()
    if first is None:
        return set()
    return {n for n in wanted if isinstance(first[n], DenseVector)}
