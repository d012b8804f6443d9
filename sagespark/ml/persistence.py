"""Saving and loading fitted models: Spark's params metadata plus a copy of the artifact.

A saved model directory is self-contained::

    <path>/metadata/              Spark's DefaultParamsWriter JSON (class, uid, params, sagespark extras)
    <path>/artifact-<save id>/    a copy of the model artifact (manifest.json + payload)

so loading never depends on the Store the model was trained into. Every save gets a fresh artifact
directory name (recorded in the metadata): overwriting a saved model on a remote filesystem then can
never leave a process serving the previous model from its cached download of the same URI.

``pyspark.ml.PipelineModel`` saves and loads these Python-only stages through its Python writer
(PySpark uses it whenever a stage is not a Java stage, and loads each stage with
``<class>.load(stage_path)``).

Examples
--------
>>> model.write().overwrite().save("/tmp/kmeans-model")   # doctest: +SKIP
>>> KMeansModel.load("/tmp/kmeans-model").metrics         # doctest: +SKIP
"""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlparse

from pyspark.ml.util import DefaultParamsReader, DefaultParamsWriter, MLReader, MLWriter

from sagespark._version import __version__
from sagespark.errors import ArtifactError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from sagespark.ml.model import SageMakerModel

__all__ = ["ARTIFACT_DIR", "qualify_path", "SageMakerModelWriter", "SageMakerModelReader"]

ARTIFACT_DIR = "artifact"
"""Prefix of the sub-directory of a saved model that holds its artifact (``artifact-<save id>``)."""

M = TypeVar("M", bound="SageMakerModel")


def qualify_path(path: str, spark: SparkSession) -> str:
    """Resolve ``path`` as Spark's writers do (default filesystem, working directory).

    Spark writes the metadata of a scheme-less path to the cluster's default filesystem (HDFS on YARN,
    the local disk in ``local`` mode); the artifact copy must land next to it, so both go through
    Hadoop's qualification. Local results come back as plain absolute paths.
    """
    qualified = path
    jvm = getattr(spark, "_jvm", None) or getattr(spark.sparkContext, "_jvm", None)
    if jvm is not None:
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        qualified = fs.makeQualified(hadoop_path).toString()
    parsed = urlparse(qualified)
    if parsed.scheme in ("", "file"):
        return str(Path(parsed.path if parsed.scheme else qualified).absolute())
    return qualified


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


class SageMakerModelWriter(MLWriter):
    """Writes a :class:`SageMakerModel`: params metadata, then a copy of the artifact next to it."""

    def __init__(self, instance: SageMakerModel) -> None:
        super().__init__()
        self.instance = instance

    def save(self, path: str) -> None:
        # Stage the artifact locally first: overwriting the directory the model was loaded from
        # deletes its artifact before saveImpl could copy it.
        from sagespark.distributed.store import Store

        staging = Path(tempfile.mkdtemp(prefix="sagespark-save-"))
        try:
            self._staged = staging / ARTIFACT_DIR
            self._name = f"{ARTIFACT_DIR}-{uuid.uuid4().hex[:12]}"
            Store.from_uri(self.instance._store_uri).download_dir(self.instance.artifact_uri, self._staged)
            super().save(path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def saveImpl(self, path: str) -> None:
        from sagespark.distributed.store import Store

        model = self.instance
        extra: dict[str, Any] = {
            "sagespark": {
                "version": __version__,
                "algorithm": model.sagemaker_algorithm.name,
                "metrics": model.metrics,
                "artifact": self._name,
            }
        }
        DefaultParamsWriter.saveMetadata(model, path, self.sparkSession, extraMetadata=extra)
        root = qualify_path(path, self.sparkSession)
        Store.from_uri(root).upload_dir(self._staged, _join(root, self._name))


class SageMakerModelReader(MLReader[M], Generic[M]):
    """Reads what :class:`SageMakerModelWriter` wrote; the loaded model reads its own artifact copy."""

    def __init__(self, cls: type[M]) -> None:
        super().__init__()
        self.cls = cls

    def load(self, path: str) -> M:
        metadata = DefaultParamsReader.loadMetadata(path, self.sparkSession)
        expected = f"{self.cls.__module__}.{self.cls.__qualname__}"
        if metadata.get("class") != expected:
            raise ArtifactError(
                f"{path!r} holds a saved {metadata.get('class')!r}, not a {expected!r}; "
                f"load it with that class (or with pyspark.ml.PipelineModel for a pipeline)."
            )
        extra = metadata.get("sagespark")
        if not isinstance(extra, dict) or not re.fullmatch(r"[A-Za-z0-9_.-]+", str(extra.get("artifact"))):
            raise ArtifactError(f"{path!r} is not a saved sagespark model: its metadata has no 'sagespark' "
                                "section.")
        model = self.cls()
        model._resetUid(metadata["uid"])
        DefaultParamsReader.getAndSetParams(model, metadata)
        root = qualify_path(path, self.sparkSession)
        model._set_training_result(
            _join(root, str(extra["artifact"])),
            {str(k): float(v) for k, v in dict(extra.get("metrics") or {}).items()},
            None,
            store_uri=root,
        )
        return model
