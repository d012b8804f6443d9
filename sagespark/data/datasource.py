"""The Spark data source ``sagemaker``: read and write RecordIO-protobuf shards (SageMaker's format).

Built on PySpark 4's Python Data Source API: the writer is a ``DataSourceArrowWriter`` (each task gets
its partition as Arrow batches and encodes them whole with :func:`sagespark.formats.write`), and the
reader yields Arrow batches whose ``features`` column is already in Spark's VectorUDT layout. A Python
data source schema *can* declare ``VectorUDT`` (checked by experiment on Spark 4.3), so ``features``
arrives as a real ``pyspark.ml.linalg`` Vector column.

Writing: one ``part-<partition>-<job>.pbr`` shard per non-empty partition (empty partitions write no
file). Spark only lets Python data sources write in ``append`` or ``overwrite`` mode (it refuses
``errorifexists`` and ``ignore`` for all of them before the source is asked), so
``df.write.format("sagemaker")`` needs ``.mode("overwrite")`` or ``.mode("append")``; :func:`save`
adds the other two modes with the usual Spark meaning. See :mod:`sagespark.data.write_plan` for the
options.

Reading: a file, or a directory searched recursively for ``.pbr`` / ``.rec`` files (names starting
with ``_`` or ``.`` are skipped); one input partition per file, streamed in bounded batches so no
file is ever loaded whole. Columns: ``features`` (dense records → DenseVector, sparse → SparseVector)
and ``label`` (double, null when the records carry none); options ``featuresCol`` / ``labelCol``
rename them.

Examples
--------
>>> import sagespark.data.datasource as ds
>>> ds.register(spark)                                                      # doctest: +SKIP
>>> df.write.format("sagemaker").mode("overwrite").save("/tmp/train")       # doctest: +SKIP
>>> spark.read.format("sagemaker").load("/tmp/train").columns               # doctest: +SKIP
['features', 'label']
"""

from __future__ import annotations

import posixpath
import re
import sys
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
from pyspark.sql.datasource import (
    DataSource,
    DataSourceArrowWriter,
    DataSourceReader,
    InputPartition,
    WriterCommitMessage,
)

from sagespark.data import shards
from sagespark.data.vectors import matrix_to_vectors
from sagespark.data.write_plan import WritePlan, batch_to_records, plan_write
from sagespark.errors import DataFormatError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

__all__ = ["SageMakerDataSource", "register", "register_active", "save"]

_READ_BATCH_BYTES = 16 << 20  # bounds a reader task's memory whatever the file size


def _path_option(options: Mapping[str, str]) -> str:
    path = options.get("path")
    if not path:
        raise DataFormatError("The 'sagemaker' data source needs a path: .load(path) or .save(path).")
    return str(path)


def _formats() -> Any:
    # Imported where used: the formats layer is only needed on the tasks that encode / decode.
    import sagespark.formats as formats

    return formats


class SageMakerDataSource(DataSource):
    """RecordIO-protobuf shards as a Spark data source named ``sagemaker``.

    Examples
    --------
    >>> SageMakerDataSource.name()
    'sagemaker'
    """

    @classmethod
    def name(cls) -> str:
        return "sagemaker"

    def schema(self) -> StructType:
        from pyspark.ml.linalg import VectorUDT
        from pyspark.sql.types import DoubleType, StructField, StructType

        return StructType(
            [
                StructField(self.options.get("featuresCol") or "features", VectorUDT(), True),
                StructField(self.options.get("labelCol") or "label", DoubleType(), True),
            ]
        )

    def reader(self, schema: StructType) -> DataSourceReader:
        return RecordIOReader(_path_option(self.options), [f.name for f in schema.fields])

    def writer(self, schema: StructType, overwrite: bool) -> DataSourceArrowWriter:
        plan = plan_write(schema, self.options)
        path = _path_option(self.options)
        fs, base = shards.resolve(path)
        info = fs.get_file_info(base)
        if info.type == pafs.FileType.File:
            if not overwrite:
                raise FileExistsError(f"Cannot append shards to {path!r}: it is a file, not a directory.")
            fs.delete_file(base)  # Spark's overwrite replaces a file at the path too
        job_id = uuid.uuid4().hex
        fs.create_dir(posixpath.join(base, shards.STAGING_DIR, job_id), recursive=True)
        return RecordIOWriter(plan, path, job_id, overwrite)


class RecordIOReader(DataSourceReader):
    """Lists shards on the driver; each task streams one file into Arrow batches."""

    def __init__(self, path: str, names: list[str]) -> None:
        self.path = path
        self.names = names

    def partitions(self) -> list[InputPartition]:
        fs, base = shards.resolve(self.path)
        return [InputPartition(file) for file in shards.list_shards(fs, base)]

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if partition.value is None:  # Spark's stand-in partition when there are no files
            return
        fs, _ = shards.resolve(self.path)
        with fs.open_input_stream(partition.value) as f:
            try:
                for batch in _formats().read(f, max_batch_bytes=_READ_BATCH_BYTES):
                    yield self._to_arrow(batch)
            except DataFormatError as err:
                raise DataFormatError(f"{err} (in file {partition.value})") from err

    def _to_arrow(self, batch: Any) -> pa.RecordBatch:
        vectors = matrix_to_vectors(batch.features)
        n = len(vectors)
        if batch.labels is None:
            labels = pa.nulls(n, type=pa.float64())
        else:
            values = np.asarray(batch.labels, dtype=np.float64)
            if values.ndim == 2 and values.shape[1] == 1:
                values = values[:, 0]
            if values.shape != (n,):
                raise DataFormatError(
                    f"Records carry labels of shape {values.shape[1:]}; the label column holds one number."
                )
            labels = pa.array(values, type=pa.float64())
        return pa.RecordBatch.from_arrays([vectors, labels], names=self.names)


@dataclass
class ShardCommit(WriterCommitMessage):
    """What a task wrote: the staged shard (``None`` for an empty partition) and its final name."""

    staged: str | None
    final: str | None
    rows: int


class RecordIOWriter(DataSourceArrowWriter):
    """Encodes each partition into one staged shard; the driver's commit moves them into place."""

    def __init__(self, plan: WritePlan, path: str, job_id: str, overwrite: bool) -> None:
        self.plan = plan
        self.path = path
        self.job_id = job_id
        self.overwrite = overwrite

    def _staging(self, base: str) -> str:
        return posixpath.join(base, shards.STAGING_DIR, self.job_id)

    def write(self, iterator: Iterator[pa.RecordBatch]) -> ShardCommit:
        from pyspark import TaskContext

        context = TaskContext.get()
        partition = context.partitionId() if context else 0
        attempt = context.taskAttemptId() if context else 0
        fs, base = shards.resolve(self.path)
        final = shards.shard_name(partition, self.job_id)
        staged = posixpath.join(self._staging(base), f"{final}.attempt-{attempt}")
        encoder = _formats()
        out = None
        rows = 0
        try:
            for batch in iterator:
                if batch.num_rows == 0:
                    continue
                try:
                    features, labels = batch_to_records(batch, self.plan, row_offset=rows)
                except DataFormatError as err:
                    raise DataFormatError(
                        f"{err} (rows counted from the start of Spark partition {partition})"
                    ) from err
                if out is None:
                    out = fs.open_output_stream(staged)
                encoder.write(out, features, labels)
                rows += batch.num_rows
        except BaseException:
            if out is not None:
                out.close()
                fs.delete_file(staged)
            raise
        if out is None:
            return ShardCommit(None, None, 0)
        out.close()
        return ShardCommit(staged, final, rows)

    def commit(self, messages: list[WriterCommitMessage | None]) -> None:
        fs, base = shards.resolve(self.path)
        if self.overwrite:
            shards.clear_directory(fs, base, keep=shards.STAGING_DIR)
        for message in messages:
            if isinstance(message, ShardCommit) and message.staged and message.final:
                fs.move(message.staged, posixpath.join(base, message.final))
        self._clean(fs, base)

    def abort(self, messages: list[WriterCommitMessage | None]) -> None:
        fs, base = shards.resolve(self.path)
        self._clean(fs, base)

    def _clean(self, fs: pafs.FileSystem, base: str) -> None:
        fs.delete_dir(self._staging(base))
        staging_root = posixpath.join(base, shards.STAGING_DIR)
        # Another job may be writing into the same directory right now; leave its staging alone.
        if not fs.get_file_info(pafs.FileSelector(staging_root)):
            fs.delete_dir(staging_root)


def register(spark: SparkSession | None = None) -> None:
    """Register the ``sagemaker`` data source with ``spark`` (the active session when ``None``).

    Calling it again for the same session does nothing.

    Examples
    --------
    >>> register(spark)                                   # doctest: +SKIP
    >>> spark.read.format("sagemaker").load("/data/train")  # doctest: +SKIP
    DataFrame[features: vector, label: double]
    """
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:
            raise RuntimeError("No active SparkSession to register the 'sagemaker' data source with.")
    if getattr(spark, "_sagespark_datasource_registered", False):
        return
    spark.dataSource.register(SageMakerDataSource)
    spark._sagespark_datasource_registered = True  # type: ignore[attr-defined]


def register_active() -> bool:
    """Register with the active SparkSession, if there is one; ``import sagespark`` calls this.

    Cheap when Spark is not in use: without ``pyspark.sql`` imported there can be no session.

    Examples
    --------
    >>> register_active() in (True, False)
    True
    """
    if "pyspark.sql" not in sys.modules:
        return False
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        return False
    register(session)
    return True


_DATA_ERROR = re.compile(r"DataFormatError: (.+)")
_MODES = ("error", "errorifexists", "ignore", "append", "overwrite")


def save(df: DataFrame, path: str, *, mode: str = "errorifexists", **options: str) -> None:
    """Write ``df`` as RecordIO-protobuf shards with any of Spark's four save modes.

    ``errorifexists`` (the default, like ``DataFrameWriter``) refuses a path that already holds
    something, ``ignore`` then writes nothing, ``append`` adds shards, ``overwrite`` replaces the
    contents when the job succeeds.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        The data, with the columns the options name.
    path : str
        Directory (local path or filesystem URI).
    mode : str
        ``"errorifexists"`` / ``"error"``, ``"ignore"``, ``"append"``, or ``"overwrite"``.
    **options : str
        ``featuresCol``, ``featureCols``, ``labelCol``, ``dtype`` (see :mod:`sagespark.data.write_plan`).

    Raises
    ------
    FileExistsError
        ``errorifexists`` and the path exists.
    DataFormatError
        A column has the wrong type, or a row is null or of the wrong size (raised in a Spark task;
        re-raised here with the task's message).

    Examples
    --------
    >>> save(df, "/tmp/train", featuresCol="pixels", labelCol="digit")  # doctest: +SKIP
    """
    key = mode.lower()
    if key not in _MODES:
        raise ValueError(f"The 'mode' parameter of save must be one of {_MODES}. Got {mode!r} instead.")
    register(df.sparkSession)
    fs, base = shards.resolve(path)
    info = fs.get_file_info(base)
    exists = info.type == pafs.FileType.File or (
        info.type == pafs.FileType.Directory and bool(fs.get_file_info(pafs.FileSelector(base)))
    )
    if exists and key in ("error", "errorifexists"):
        raise FileExistsError(f"Path {path!r} already exists; use mode='overwrite' or mode='append'.")
    if exists and key == "ignore":
        return
    spark_mode = "overwrite" if key == "overwrite" else "append"
    try:
        df.write.format("sagemaker").mode(spark_mode).options(**options).save(path)
    except Exception as err:
        # Spark wraps errors from its Python workers in its own exception types; give the caller the
        # typed error back, with the worker's message.
        found = _DATA_ERROR.search(str(err))
        if found is None:
            raise
        raise DataFormatError(found.group(1).strip()) from err
