"""The ``sagemaker`` Spark data source: writes readable by sagespark.formats and the SageMaker SDK,
reads back into Vector columns, save modes, empty partitions, and errors that reach the user intact."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from pyspark.ml.linalg import DenseVector, SparseVector, Vectors, VectorUDT
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, FloatType, StructField, StructType

from sagespark import formats
from sagespark.data.datasource import register, save
from sagespark.errors import DataFormatError

pytestmark = pytest.mark.spark

os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")


def shard_files(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.suffix == ".pbr")


def decode_dir(path: Path) -> formats.RecordBatch:
    """All shards of a directory, in partition order, through the formats layer."""
    batches = [formats.decode(p.read_bytes()) for p in shard_files(path)]
    features = [b.features for b in batches]
    stacked = sp.vstack(features).tocsr() if sp.issparse(features[0]) else np.vstack(features)
    labels = None if batches[0].labels is None else np.concatenate([b.labels for b in batches])
    return formats.RecordBatch(stacked, labels)


def sdk_records(path: Path) -> list:
    from sagemaker.amazon.common import read_records

    records = []
    for shard in shard_files(path):
        with open(shard, "rb") as f:
            records.extend(read_records(f))
    return records


@pytest.fixture(scope="module")
def dense_df(spark):  # type: ignore[no-untyped-def]
    rows = [(Vectors.dense([float(i), i / 2.0, -1.0]), float(i % 3)) for i in range(12)]
    return spark.createDataFrame(rows, ["features", "label"]).repartition(3)


def test_register_is_idempotent(spark) -> None:  # type: ignore[no-untyped-def]
    register(spark)
    register(spark)
    register()  # the active session
    import sagespark.data

    assert sagespark.data.register_active() is True


def test_dense_with_label_round_trip(spark, dense_df, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "dense"
    dense_df.write.format("sagemaker").mode("overwrite").save(str(out))
    files = shard_files(out)
    assert len(files) == 3 and all(f.name.startswith("part-0000") for f in files)
    assert not (out / "_temporary").exists()

    expected = {(float(i), i / 2.0, -1.0): float(i % 3) for i in range(12)}
    back = spark.read.format("sagemaker").load(str(out))
    assert isinstance(back.schema["features"].dataType, VectorUDT)
    assert isinstance(back.schema["label"].dataType, DoubleType)
    rows = back.collect()
    assert all(isinstance(r.features, DenseVector) for r in rows)
    assert {tuple(r.features.toArray()): r.label for r in rows} == expected
    assert back.rdd.getNumPartitions() == 3  # one input partition per file

    decoded = decode_dir(out)
    assert decoded.features.dtype == np.float32 and decoded.features.shape == (12, 3)
    assert {tuple(x): y for x, y in zip(decoded.features.tolist(), decoded.labels.tolist())} == expected

    records = sdk_records(out)
    assert len(records) == 12
    record = records[0]
    assert len(record.features["values"].float32_tensor.values) == 3
    assert not record.features["values"].float32_tensor.keys
    assert len(record.label["values"].float32_tensor.values) == 1


def test_sparse_without_label_round_trip(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [
        (Vectors.sparse(50, sorted({i % 50, (i * 7) % 50}), [1.0] * len({i % 50, (i * 7) % 50})),)
        for i in range(20)
    ]
    df = spark.createDataFrame(rows, ["features"]).coalesce(2)
    out = tmp_path / "sparse"
    df.write.format("sagemaker").mode("overwrite").save(str(out))

    back = spark.read.format("sagemaker").load(str(out)).collect()
    assert all(isinstance(r.features, SparseVector) and r.features.size == 50 for r in back)
    assert all(r.label is None for r in back)
    assert sorted(tuple(r.features.indices) for r in back) == sorted(tuple(v.indices) for (v,) in rows)

    decoded = decode_dir(out)
    assert sp.issparse(decoded.features) and decoded.features.shape == (20, 50) and decoded.labels is None
    record = sdk_records(out)[0]
    tensor = record.features["values"].float32_tensor
    assert list(tensor.shape) == [50] and len(tensor.keys) == len(tensor.values) > 0
    assert not record.label


def test_array_column_numeric_columns_and_float64(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = StructType(
        [
            StructField("pixels", ArrayType(FloatType())),
            StructField("a", DoubleType()),
            StructField("b", DoubleType()),
            StructField("digit", DoubleType()),
        ]
    )
    df = spark.createDataFrame([([1.0, 2.0], 1.0, 2.0, 7.0), ([3.0, 4.0], 3.0, 4.0, 8.0)], schema).coalesce(1)

    arrays = tmp_path / "arrays"
    df.write.format("sagemaker").mode("overwrite").option("featuresCol", "pixels").option(
        "labelCol", "digit"
    ).save(str(arrays))
    decoded = decode_dir(arrays)
    np.testing.assert_array_equal(decoded.features, [[1, 2], [3, 4]])
    np.testing.assert_array_equal(decoded.labels, [7, 8])

    columns = tmp_path / "columns"
    df.write.format("sagemaker").mode("overwrite").options(
        featureCols="a, b", labelCol="", dtype="float64"
    ).save(str(columns))
    decoded = decode_dir(columns)
    assert decoded.features.dtype == np.float64 and decoded.labels is None
    np.testing.assert_array_equal(decoded.features, [[1, 2], [3, 4]])
    record = sdk_records(columns)[0]
    assert list(record.features["values"].float64_tensor.values) == [1.0, 2.0]

    back = spark.read.format("sagemaker").options(featuresCol="x", labelCol="y").load(str(columns))
    assert back.columns == ["x", "y"]
    assert sorted(r.x.toArray().tolist() for r in back.collect()) == [[1.0, 2.0], [3.0, 4.0]]


def test_empty_partitions_write_no_file(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = spark.range(0, 2, numPartitions=4).select(F.array(F.col("id").cast("double")).alias("features"))
    out = tmp_path / "sparse_parts"
    df.write.format("sagemaker").mode("overwrite").save(str(out))
    assert len(shard_files(out)) == 2
    assert sorted(r.features[0] for r in spark.read.format("sagemaker").load(str(out)).collect()) == [
        0.0,
        1.0,
    ]

    empty = tmp_path / "empty"
    df.limit(0).write.format("sagemaker").mode("overwrite").save(str(empty))
    assert empty.is_dir() and list(empty.iterdir()) == []
    assert spark.read.format("sagemaker").load(str(empty)).count() == 0


def test_save_modes(spark, dense_df, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "modes"
    small = dense_df.limit(4).coalesce(1)
    save(small, str(out))  # errorifexists on a fresh path writes
    assert len(shard_files(out)) == 1
    with pytest.raises(FileExistsError, match="already exists"):
        save(small, str(out))
    save(small, str(out), mode="ignore")
    assert len(shard_files(out)) == 1
    save(small, str(out), mode="append")
    assert len(shard_files(out)) == 2
    (out / "notes.txt").write_text("replaced by overwrite, like Spark's file sources")
    save(small, str(out), mode="overwrite")
    assert len(shard_files(out)) == 1 and not (out / "notes.txt").exists()
    assert spark.read.format("sagemaker").load(str(out)).count() == 4
    # Spark itself refuses errorifexists for every Python data source; the message says what to use.
    with pytest.raises(Exception, match=r"Append.*Overwrite"):
        small.write.format("sagemaker").save(str(tmp_path / "default-mode"))


def test_reader_recurses_and_skips_hidden(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "tree"
    (root / "a" / "b").mkdir(parents=True)
    (root / "_skip").mkdir()
    (root / "a" / "one.pbr").write_bytes(formats.encode(np.array([[1.0, 1.0]], dtype=np.float32)))
    (root / "a" / "b" / "two.rec").write_bytes(
        formats.encode(np.array([[2.0, 2.0]], dtype=np.float32), [5.0])
    )
    (root / "_skip" / "three.pbr").write_bytes(formats.encode(np.array([[3.0, 3.0]], dtype=np.float32)))
    (root / ".hidden.pbr").write_bytes(b"not a record")
    (root / "README").write_text("not a shard")
    rows = spark.read.format("sagemaker").load(str(root)).collect()
    assert sorted((r.features[0], r.label) for r in rows) == [(1.0, None), (2.0, 5.0)]
    single = spark.read.format("sagemaker").load(str(root / "a" / "b" / "two.rec")).collect()
    assert [r.label for r in single] == [5.0]


def test_reads_what_the_sagemaker_sdk_writes(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sagemaker.amazon.common import write_numpy_to_dense_tensor, write_spmatrix_to_sparse_tensor

    dense = np.arange(12, dtype=np.float32).reshape(4, 3)
    with open(tmp_path / "dense.pbr", "wb") as f:
        write_numpy_to_dense_tensor(f, dense, np.arange(4, dtype=np.float32))
    matrix = sp.csr_matrix(np.array([[0, 1.5, 0], [2.5, 0, 0]], dtype=np.float32))
    sparse_dir = tmp_path / "sparse"
    sparse_dir.mkdir()
    with open(sparse_dir / "s.pbr", "wb") as f:
        write_spmatrix_to_sparse_tensor(f, matrix)
    rows = spark.read.format("sagemaker").load(str(tmp_path / "dense.pbr")).collect()
    assert sorted((r.features.toArray().tolist(), r.label) for r in rows) == [
        (dense[i].tolist(), float(i)) for i in range(4)
    ]
    sparse_rows = spark.read.format("sagemaker").load(str(sparse_dir)).collect()
    assert [r.features for r in sparse_rows] == [Vectors.sparse(3, [1], [1.5]), Vectors.sparse(3, [0], [2.5])]


def test_write_errors_name_the_column(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    df = spark.createDataFrame([("x", 1.0)], ["name", "label"])
    with pytest.raises(Exception, match=r"Column 'name' \(featuresCol\) must be a Vector or array"):
        df.write.format("sagemaker").mode("overwrite").option("featuresCol", "name").save(
            str(tmp_path / "e1")
        )
    with pytest.raises(Exception, match=r"Column 'features' \(featuresCol\) does not exist"):
        df.write.format("sagemaker").mode("overwrite").save(str(tmp_path / "e2"))
    with pytest.raises(Exception, match=r"Column 'name' \(labelCol\) must be numeric"):
        df.select(F.array("label").alias("features"), "name").write.format("sagemaker").mode(
            "overwrite"
        ).option("labelCol", "name").save(str(tmp_path / "e3"))
    with pytest.raises(Exception, match=r"'dtype' option must be one of"):
        df.select(F.array("label").alias("features")).write.format("sagemaker").mode("overwrite").option(
            "dtype", "int8"
        ).save(str(tmp_path / "e4"))


def test_bad_rows_fail_the_job_with_column_and_row(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    schema = StructType([StructField("features", VectorUDT()), StructField("label", DoubleType())])
    nulls = spark.createDataFrame([(Vectors.dense([1.0]), 1.0), (None, 2.0)], schema).coalesce(1)
    out = tmp_path / "nulls"
    with pytest.raises(Exception, match=r"Column 'features': row 1 is null; expected a vector"):
        nulls.write.format("sagemaker").mode("overwrite").save(str(out))
    # The failed job leaves neither shards nor staging behind.
    assert not out.exists() or (not shard_files(out) and not (out / "_temporary").exists())

    # save() hands back the typed error raised inside the Spark task.
    with pytest.raises(
        DataFormatError, match=r"^Column 'features': row 1 is null; expected a vector in every row"
    ):
        save(nulls, str(out), mode="overwrite")

    ragged = spark.createDataFrame([(Vectors.dense([1.0, 2.0]), 1.0), (Vectors.dense([1.0]), 2.0)], schema)
    with pytest.raises(Exception, match=r"vectors must all have the same size.*row 1 \(dense\) has size 1"):
        ragged.coalesce(1).write.format("sagemaker").mode("overwrite").save(str(tmp_path / "ragged"))

    missing_label = spark.createDataFrame([(Vectors.dense([1.0]), None)], schema)
    with pytest.raises(Exception, match=r"Column 'label': row 0 is null; expected a number"):
        missing_label.write.format("sagemaker").mode("overwrite").save(str(tmp_path / "label"))


def test_read_errors(spark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Exception, match=r"does not exist"):
        spark.read.format("sagemaker").load(str(tmp_path / "nowhere")).collect()
    bad = tmp_path / "bad.pbr"
    bad.write_bytes(b"\x00" * 16)
    with pytest.raises(Exception, match=r"bad\.pbr"):
        spark.read.format("sagemaker").load(str(bad)).collect()
