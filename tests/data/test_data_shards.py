"""Data-source pieces that need no Spark session: shard listing, write plans, reader batches."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pytest
import scipy.sparse as sp
from pyspark.ml.linalg import VectorUDT
from pyspark.sql.types import ArrayType, DoubleType, IntegerType, StringType, StructField, StructType

from sagespark import formats
from sagespark.data import shards
from sagespark.data.datasource import RecordIOReader
from sagespark.data.vectors import VECTOR_ARROW_TYPE, matrix_to_vectors
from sagespark.data.write_plan import WritePlan, batch_to_records, plan_write
from sagespark.errors import DataFormatError

SCHEMA = StructType(
    [
        StructField("features", VectorUDT()),
        StructField("label", DoubleType()),
        StructField("pixels", ArrayType(IntegerType())),
        StructField("name", StringType()),
        StructField("x", IntegerType()),
    ]
)


def test_resolve_makes_local_paths_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fs, path = shards.resolve("data")
    assert isinstance(fs, pafs.LocalFileSystem) and path == os.path.join(str(tmp_path), "data")
    fs, path = shards.resolve(f"file://{tmp_path}")
    assert path == str(tmp_path)


def test_list_shards_filters_and_sorts(tmp_path: Path) -> None:
    for name in ["b/part-1.pbr", "a/x.rec", "_temporary/job/part-0.pbr", "c/.part.pbr.crc", "c/notes.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    fs = pafs.LocalFileSystem()
    assert shards.list_shards(fs, str(tmp_path)) == [
        str(tmp_path / "a/x.rec"),
        str(tmp_path / "b/part-1.pbr"),
    ]
    assert shards.list_shards(fs, str(tmp_path / "c/notes.txt")) == [str(tmp_path / "c/notes.txt")]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        shards.list_shards(fs, str(tmp_path / "missing"))


def test_plan_write_defaults_and_options() -> None:
    assert plan_write(SCHEMA, {}) == WritePlan(("features",), False, "label", "float32")
    assert plan_write(SCHEMA, {"featurescol": "pixels", "labelcol": ""}) == WritePlan(
        ("pixels",), False, None, "float32"
    )
    assert plan_write(SCHEMA, {"featureCols": "x,label", "labelCol": "x", "dtype": "FLOAT64"}) == WritePlan(
        ("x", "label"), True, "x", "float64"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"featuresCol": "name"}, r"Column 'name' \(featuresCol\) must be a Vector or array"),
        ({"featureCols": "x,name"}, r"Column 'name' \(featureCols\) must be numeric; got string"),
        ({"featureCols": "x,nope"}, r"Column 'nope' \(featureCols\) does not exist"),
        ({"labelCol": "name"}, r"Column 'name' \(labelCol\) must be numeric"),
        ({"labelCol": "y"}, r"Column 'y' \(labelCol\) does not exist"),
        ({"dtype": "half"}, r"'dtype' option must be one of \('float32', 'float64'\). Got 'half'"),
    ],
)
def test_plan_write_errors(options: dict[str, str], message: str) -> None:
    with pytest.raises(DataFormatError, match=message):
        plan_write(SCHEMA, options)


def test_batch_to_records_stacks_columns_and_reports_rows() -> None:
    batch = pa.RecordBatch.from_pydict({"a": pa.array([1, 2, 3]), "b": pa.array([0.5, None, 1.5])})
    plan = WritePlan(("a", "b"), True, None, "float64")
    with pytest.raises(DataFormatError, match=r"Column 'b': row 11 is null"):
        batch_to_records(batch, plan, row_offset=10)
    features, labels = batch_to_records(batch.slice(2), plan)
    assert features.tolist() == [[3.0, 1.5]] and labels is None


def test_batch_to_records_keeps_sparse_vectors_sparse() -> None:
    matrix = sp.csr_matrix(np.array([[0.0, 1.0, 0.0], [2.0, 0.0, 0.0]]))
    batch = pa.RecordBatch.from_arrays([matrix_to_vectors(matrix), pa.array([1, 0])], ["features", "label"])
    features, labels = batch_to_records(batch, WritePlan(("features",), False, "label", "float32"))
    assert sp.issparse(features) and features.dtype == np.float32
    assert labels.dtype == np.float32 and labels.tolist() == [1.0, 0.0]


def test_reader_batches_are_spark_vectors_and_nullable_labels() -> None:
    reader = RecordIOReader("/unused", ["features", "label"])
    dense = reader._to_arrow(formats.RecordBatch(np.ones((2, 3), dtype=np.float32), None))
    assert dense.schema.field("features").type == VECTOR_ARROW_TYPE
    assert dense.column("label").null_count == 2
    sparse = reader._to_arrow(
        formats.RecordBatch(sp.csr_matrix(np.eye(2, dtype=np.float32)), np.array([3, 4]))
    )
    assert sparse.column("features").to_pylist()[1] == {"type": 0, "size": 2, "indices": [1], "values": [1.0]}
    assert sparse.column("label").to_pylist() == [3.0, 4.0]
    with pytest.raises(DataFormatError, match=r"labels of shape \(2,\)"):
        reader._to_arrow(formats.RecordBatch(np.ones((2, 3)), np.ones((2, 2))))
