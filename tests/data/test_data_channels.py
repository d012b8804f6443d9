"""Arrow batches → ChannelData / predict batches, and predictions → Arrow, without Spark's JVM."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp
from pyspark.ml.linalg import VectorUDT
from pyspark.sql.types import DoubleType, StringType

from sagespark.algorithms.base import InputField, OutputField
from sagespark.data.channels import (
    batch_from_arrow,
    channel_data_from_arrow,
    output_arrow_schema,
    output_struct_fields,
    outputs_to_arrow,
)
from sagespark.data.vectors import VECTOR_ARROW_TYPE, matrix_to_vectors
from sagespark.errors import DataFormatError

FEATURES = InputField("features", "vector", "featuresCol")
LABEL = InputField("label", "double", "labelCol", required_for_training=False, used_for_prediction=False)
REQUIRED_LABEL = InputField("label", "double", "labelCol")
ENTITY = InputField("entity", "string", "entityCol")


def make_batch(
    features: np.ndarray | sp.csr_matrix, label: list | None = None, **extra: pa.Array
) -> pa.RecordBatch:
    arrays = {"features": matrix_to_vectors(features)}
    if label is not None:
        arrays["label"] = pa.array(label, type=pa.int64() if all(isinstance(v, int) for v in label) else None)
    arrays.update(extra)
    return pa.RecordBatch.from_pydict(arrays)


def test_many_batches_concatenate_in_order() -> None:
    rng = np.random.default_rng(0)
    parts = [rng.random((n, 4)) for n in (3, 0, 5, 2)]
    batches = [make_batch(p, list(range(len(p)))) for p in parts]
    data = channel_data_from_arrow(iter(batches), (FEATURES, LABEL))
    assert data.features.dtype == np.float32 and data.features.shape == (10, 4)
    np.testing.assert_allclose(data.features, np.vstack(parts), rtol=1e-6)
    assert data.label.dtype == np.float64
    np.testing.assert_array_equal(data.label, [0, 1, 2, 0, 1, 2, 3, 4, 0, 1])
    assert data.num_rows == 10


def test_sparse_batches_give_csr() -> None:
    parts = [sp.random(4, 30, density=0.1, format="csr", random_state=s) for s in range(3)]
    data = channel_data_from_arrow([make_batch(p) for p in parts], (FEATURES,))
    assert sp.issparse(data.features) and data.features.dtype == np.float32
    np.testing.assert_allclose(data.features.toarray(), sp.vstack(parts).toarray(), rtol=1e-6)


def test_string_and_extra_columns_go_to_columns() -> None:
    batch = make_batch(np.eye(2), entity=pa.array(["a", "b"]))
    data = channel_data_from_arrow([batch], (FEATURES, ENTITY))
    assert data.columns["entity"].dtype == object
    assert data.columns["entity"].tolist() == ["a", "b"]


def test_optional_missing_input_is_none_and_required_missing_raises() -> None:
    batch = make_batch(np.eye(2))
    assert channel_data_from_arrow([batch], (FEATURES, LABEL)).label is None
    with pytest.raises(DataFormatError, match=r"Required input column 'label' is missing"):
        channel_data_from_arrow([batch], (FEATURES, REQUIRED_LABEL))


def test_null_in_required_input_names_column_and_partition_row() -> None:
    batches = [make_batch(np.eye(2), [1.0, 2.0]), make_batch(np.eye(2), [None, 3.0])]
    with pytest.raises(DataFormatError, match=r"Column 'label': row 2 is null"):
        channel_data_from_arrow(batches, (FEATURES, REQUIRED_LABEL))
    # An optional input keeps its nulls as NaN.
    label = channel_data_from_arrow(batches, (FEATURES, LABEL)).label
    np.testing.assert_array_equal(np.isnan(label), [False, False, True, False])


def test_null_feature_vector_names_row_across_batches() -> None:
    good = make_batch(np.ones((3, 2)))
    bad = pa.RecordBatch.from_pydict(
        {
            "features": pa.array(
                [None, {"type": 1, "size": None, "indices": None, "values": [1.0, 1.0]}],
                type=VECTOR_ARROW_TYPE,
            )
        }
    )
    with pytest.raises(DataFormatError, match=r"Column 'features': row 3 is null"):
        channel_data_from_arrow([good, bad], (FEATURES,))


def test_empty_partition() -> None:
    data = channel_data_from_arrow([], (FEATURES, LABEL, ENTITY))
    assert data.features.shape == (0, 0)
    assert data.label is None
    assert data.columns["entity"].shape == (0,)
    assert data.num_rows == 0


def test_array_column_features() -> None:
    batch = pa.RecordBatch.from_pydict(
        {"features": pa.array([[1.0, 2.0], [3.0, 4.0]], type=pa.list_(pa.float32()))}
    )
    np.testing.assert_array_equal(channel_data_from_arrow([batch], (FEATURES,)).features, [[1, 2], [3, 4]])


def test_batch_from_arrow_decodes_prediction_inputs_only() -> None:
    batch = make_batch(np.eye(3), [0.0, 1.0, None])
    out = batch_from_arrow(batch, (FEATURES, LABEL))
    assert list(out) == ["features"]
    np.testing.assert_array_equal(out["features"], np.eye(3))
    with pytest.raises(DataFormatError, match=r"Input column 'entity' is needed for prediction"):
        batch_from_arrow(batch, (FEATURES, ENTITY))


def test_outputs_to_arrow_kinds_and_order() -> None:
    fields = (
        OutputField("closest_cluster", "double"),
        OutputField("projection", "vector"),
        OutputField("word", "string"),
    )
    outputs = {
        "projection": np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32),
        "closest_cluster": np.array([[1], [0]]),
        "word": np.array(["x", "y"], dtype=object),
    }
    batch = outputs_to_arrow(outputs, fields)
    assert batch.schema == output_arrow_schema(fields)
    assert batch.schema.field("projection").type == VECTOR_ARROW_TYPE
    assert batch.column(0).to_pylist() == [1.0, 0.0]
    assert batch.column(1).to_pylist()[1] == {"type": 1, "size": None, "indices": None, "values": [3.0, 4.0]}
    assert batch.column(2).to_pylist() == ["x", "y"]


def test_sparse_vector_output() -> None:
    batch = outputs_to_arrow({"v": sp.csr_matrix(np.array([[0.0, 5.0]]))}, (OutputField("v", "vector"),))
    assert batch.column(0).to_pylist() == [{"type": 0, "size": 2, "indices": [1], "values": [5.0]}]


def test_outputs_missing_or_ragged_raise() -> None:
    fields = (OutputField("score", "double"), OutputField("predicted_label", "double"))
    with pytest.raises(DataFormatError, match=r"no 'predicted_label' output"):
        outputs_to_arrow({"score": np.zeros(2)}, fields)
    with pytest.raises(DataFormatError, match=r"'predicted_label' has 3 rows; the other outputs have 2"):
        outputs_to_arrow({"score": np.zeros(2), "predicted_label": np.zeros(3)}, fields)


def test_output_struct_fields_types() -> None:
    fields = output_struct_fields(
        (OutputField("a", "double"), OutputField("b", "vector"), OutputField("c", "string"))
    )
    assert [f.name for f in fields] == ["a", "b", "c"]
    assert isinstance(fields[0].dataType, DoubleType)
    assert isinstance(fields[1].dataType, VectorUDT)
    assert isinstance(fields[2].dataType, StringType)
    with pytest.raises(DataFormatError, match=r"unknown kind"):
        output_struct_fields((OutputField("z", "tensor"),))
