"""Spark side of the data layer: select_inputs, and the Arrow layout round trip through mapInArrow."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from pyspark.ml.linalg import DenseVector, SparseVector, Vectors, VectorUDT
from pyspark.sql.types import (
    ArrayType,
    DecimalType,
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from sagespark.algorithms.base import InputField, OutputField
from sagespark.data.channels import (
    batch_from_arrow,
    channel_data_from_arrow,
    output_struct_fields,
    outputs_to_arrow,
)
from sagespark.data.columns import select_inputs
from sagespark.errors import DataFormatError

pytestmark = pytest.mark.spark

FEATURES = InputField("features", "vector", "featuresCol")
LABEL = InputField("label", "double", "labelCol", required_for_training=False, used_for_prediction=False)
ENTITY = InputField("entity", "string", "entityCol")


@pytest.fixture(scope="module")
def people(spark):  # type: ignore[no-untyped-def]
    schema = StructType(
        [
            StructField("vec", VectorUDT()),
            StructField("arr", ArrayType(IntegerType())),
            StructField("dec", ArrayType(DecimalType(10, 2))),
            StructField("age", IntegerType()),
            StructField("name", StringType()),
        ]
    )
    rows = [
        (Vectors.dense([1.0, 2.0]), [1, 2], [Decimal("1.50"), Decimal("2.00")], 30, "ann"),
        (Vectors.sparse(2, [1], [3.0]), [3, 4], [Decimal("0.25"), Decimal("1.00")], 40, "bob"),
    ]
    return spark.createDataFrame(rows, schema)


def test_select_inputs_renames_by_param_and_casts(people) -> None:  # type: ignore[no-untyped-def]
    out = select_inputs(
        people, (FEATURES, LABEL, ENTITY), {"featuresCol": "vec", "labelCol": "age", "entity": "name"}
    )
    assert out.columns == ["features", "label", "entity"]
    assert isinstance(out.schema["features"].dataType, VectorUDT)
    assert isinstance(out.schema["label"].dataType, DoubleType)
    assert [r.label for r in out.collect()] == [30.0, 40.0]


def test_select_inputs_accepts_arrays_and_numbers_as_vectors(people) -> None:  # type: ignore[no-untyped-def]
    for source, expected in [
        ("arr", [[1, 2], [3, 4]]),
        ("dec", [[1.5, 2.0], [0.25, 1.0]]),
        ("age", [[30], [40]]),
    ]:
        out = select_inputs(people, (FEATURES,), {"featuresCol": source})
        batches = out.toArrow().to_batches()
        data = channel_data_from_arrow(batches, (FEATURES,))
        np.testing.assert_array_equal(data.features, np.array(expected, dtype=np.float32))


def test_select_inputs_wrong_type_names_column_and_expected(people) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(
        DataFormatError,
        match=r"Column 'name' \(featuresCol\) must be a Vector, array<numeric> "
        r"or numeric column; got string",
    ):
        select_inputs(people, (FEATURES,), {"featuresCol": "name"})
    with pytest.raises(
        DataFormatError, match=r"Column 'vec' \(labelCol\) must be a numeric column; got vector"
    ):
        select_inputs(people, (FEATURES, LABEL), {"featuresCol": "arr", "labelCol": "vec"})
    with pytest.raises(DataFormatError, match=r"Column 'age' \(entityCol\) must be a string column; got int"):
        select_inputs(people, (ENTITY,), {"entityCol": "age"})


def test_select_inputs_missing_column_lists_columns(people) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DataFormatError, match=r"Column 'features' \(featuresCol\) does not exist; .*'vec'"):
        select_inputs(people, (FEATURES,), {})
    # Optional inputs are simply left out when absent.
    assert select_inputs(people, (FEATURES, LABEL), {"featuresCol": "vec"}).columns == ["features"]


def test_select_inputs_for_prediction_skips_training_only_inputs(people) -> None:  # type: ignore[no-untyped-def]
    out = select_inputs(
        people, (FEATURES, LABEL), {"featuresCol": "vec", "labelCol": "age"}, for_training=False
    )
    assert out.columns == ["features"]


def test_map_in_arrow_round_trip_through_spark(spark) -> None:  # type: ignore[no-untyped-def]
    # Nested, so Spark's workers receive it by value (the test module is not importable there).
    def _score(batches):
        """An executor-side function as the ML layer writes one: decode, 'predict', encode."""
        for batch in batches:
            inputs = batch_from_arrow(batch, (FEATURES,))
            x = inputs["features"]
            dense = x.toarray() if hasattr(x, "toarray") else x
            yield outputs_to_arrow(
                {
                    "total": dense.sum(axis=1),
                    "doubled": dense * 2,
                    "sparse_copy": x.tocsr() if hasattr(x, "tocsr") else x,
                    "tag": np.array([f"n{len(r)}" for r in dense], dtype=object),
                },
                (
                    OutputField("total", "double"),
                    OutputField("doubled", "vector"),
                    OutputField("sparse_copy", "vector"),
                    OutputField("tag", "string"),
                ),
            )

    rows = [
        (Vectors.dense([1.0, 2.0, 0.0]),),
        (Vectors.sparse(3, [2], [5.0]),),
        (Vectors.dense([0.5, 0.5, 0.5]),),
    ]
    df = spark.createDataFrame(rows, ["features"]).repartition(2)
    schema = StructType(
        output_struct_fields(
            (
                OutputField("total", "double"),
                OutputField("doubled", "vector"),
                OutputField("sparse_copy", "vector"),
                OutputField("tag", "string"),
            )
        )
    )
    got = sorted(df.mapInArrow(_score, schema).collect(), key=lambda r: r.total)
    assert [r.total for r in got] == [1.5, 3.0, 5.0]
    assert isinstance(got[0].doubled, DenseVector) and got[0].doubled.toArray().tolist() == [1.0, 1.0, 1.0]
    # The batch with a sparse row decodes to CSR and comes back as SparseVectors.
    sparse_row = got[2]
    assert isinstance(sparse_row.sparse_copy, SparseVector)
    assert sparse_row.sparse_copy == Vectors.sparse(3, [2], [5.0])
    assert {r.tag for r in got} == {"n3"}
