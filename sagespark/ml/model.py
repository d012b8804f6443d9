"""The generic Spark ML Model: a fitted artifact that appends SageMaker's output columns to a DataFrame.

``transform`` runs :func:`sagespark.ml.transform.predict_arrays` as a scalar Arrow UDF: the same
Predictor the HTTP endpoint serves, loaded once per Python worker. The output schema is the input schema
plus one column per output, named after SageMaker's response fields unless renamed through the output
column Params (``closestClusterCol``, ``projectionCol``, ...).

Examples
--------
>>> model = KMeans(k=3).fit(train_df)                     # doctest: +SKIP
>>> model.transform(df).select("closest_cluster").show()  # doctest: +SKIP
>>> model.write().overwrite().save("/tmp/m")              # doctest: +SKIP
>>> KMeansModel.load("/tmp/m").hyperparameters["k"]       # doctest: +SKIP
3
"""

from __future__ import annotations

import functools
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pyspark.ml import Model
from pyspark.ml.util import MLReadable, MLWritable
from pyspark.sql.types import StructType

from sagespark.errors import ArtifactError, DataFormatError
from sagespark.ml.params import AlgorithmParams
from sagespark.ml.persistence import SageMakerModelReader, SageMakerModelWriter
from sagespark.ml.transform import predict_arrays

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from sagespark.algorithms.base import Predictor
    from sagespark.hyperparams import Hyperparameters

__all__ = ["SageMakerModel"]


class SageMakerModel(AlgorithmParams, Model, MLWritable, MLReadable["SageMakerModel"]):
    """Spark ML Model for one SageMaker built-in algorithm, backed by a model artifact.

    Subclasses set ``sagemaker_algorithm``; Params are generated as for the Estimator, with getters
    only for the hyperparameters (they hold the values the model was trained with, inferred ones such
    as ``feature_dim`` included).

    Attributes
    ----------
    artifact_uri : str
        Where the model artifact lives (the Store of the fit, or ``<path>/artifact`` once loaded).
    metrics : dict[str, float]
        Final metrics under SageMaker's names (``"test:msd"``).
    hyperparameters : dict[str, Any]
        The hyperparameters the model was trained with, by SageMaker name.
    """

    _role: ClassVar[str] = "model"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._artifact_uri: str | None = None
        self._store_uri: str | None = None
        self._token = ""
        self._metrics: dict[str, float] = {}

    # -- construction ------------------------------------------------------------------------
    def _set_training_result(
        self,
        artifact_uri: str,
        metrics: dict[str, float],
        hyperparameters: Hyperparameters | None,
        *,
        store_uri: str | None = None,
    ) -> None:
        self._artifact_uri = artifact_uri
        self._store_uri = store_uri
        self._token = uuid.uuid4().hex  # a fresh Predictor cache entry on the workers for this model
        self._metrics = dict(metrics)
        if hyperparameters is not None:
            self._set(**{k: v for k, v in hyperparameters.to_dict().items() if v is not None})

    @classmethod
    def from_artifact(cls, artifact_uri: str, *, store_uri: str | None = None, **params: Any) -> Any:
        """A model for an existing artifact (written by a fit, or by ``sagespark train``).

        Parameters
        ----------
        artifact_uri : str
            The artifact directory (or ``model.tar.gz``) URI.
        store_uri : str, optional
            The Store that reads it (default: the local store, which reads any local path).
        **params
            Column Params to set (``featuresCol="f"``).

        Raises
        ------
        ArtifactError
            When the artifact is of another algorithm.

        Examples
        --------
        >>> m = KMeansModel.from_artifact("/opt/ml/model/model.tar.gz")  # doctest: +SKIP
        """
        from sagespark.algorithms.artifact import load_artifact
        from sagespark.distributed.store import Store

        loaded = load_artifact(Store.from_uri(store_uri).local_copy(artifact_uri))
        if loaded.algorithm.name != cls.sagemaker_algorithm.name:
            raise ArtifactError(
                f"{artifact_uri!r} holds a {loaded.algorithm.name!r} model, "
                f"not {cls.sagemaker_algorithm.name!r}."
            )
        model = cls(**params)
        model._set_training_result(artifact_uri, loaded.metrics, loaded.hyperparameters, store_uri=store_uri)
        return model

    # -- what the model is -------------------------------------------------------------------
    @property
    def artifact_uri(self) -> str:
        if self._artifact_uri is None:
            raise ArtifactError(f"{type(self).__name__} {self.uid} has no artifact; fit or load it first.")
        return self._artifact_uri

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self._metrics)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return self._hyperparameter_values()

    def local_artifact_dir(self) -> Path:
        """A local directory holding the artifact (fetched once and cached by the Store)."""
        from sagespark.distributed.store import Store

        return Path(Store.from_uri(self._store_uri).local_copy(self.artifact_uri))

    def load_predictor(self) -> Predictor:
        """The artifact's Predictor in this process: what ``transform`` and the endpoint call."""
        from sagespark.algorithms.artifact import load_artifact

        return load_artifact(self.local_artifact_dir()).predictor

    def deploy(self, **kwargs: Any) -> Any:
        """Serve the model locally behind SageMaker's HTTP contract.

        Keyword arguments go to :func:`sagespark.hosting.deploy.deploy_local` (``host``, ``port``,
        ``workers``); the returned handle has ``.url``, ``.predict(...)`` and ``.delete()``.

        Examples
        --------
        >>> with model.deploy(port=0) as endpoint:   # doctest: +SKIP
        ...     endpoint.predict([[0.1, 0.2]])
        """
        from sagespark.hosting.deploy import deploy_local

        return deploy_local(self.local_artifact_dir(), **kwargs)

    # -- transform ---------------------------------------------------------------------------
    def _transform(self, dataset: DataFrame) -> DataFrame:
        from pyspark.sql import functions as F
        from pyspark.sql.functions import ArrowUDFType, arrow_udf

        from sagespark.data.channels import output_struct_fields
        from sagespark.data.columns import input_columns

        algorithm = self.sagemaker_algorithm
        inputs = tuple(f for f in algorithm.inputs if f.used_for_prediction)
        columns = self._input_columns()
        # Checks the input columns' types eagerly (naming a wrong column) and converts them.
        arguments = input_columns(dataset, inputs, columns, for_training=False, float32_vectors=True)

        out_columns = self._output_columns()
        declared = algorithm.output_fields(self._hyperparameter_values())
        outputs = tuple(f for f in declared if f.name in out_columns)
        names = tuple(out_columns[f.name] for f in outputs)
        taken = set(dataset.columns)
        clash = [n for n in names if n in taken] or [n for n in set(names) if names.count(n) > 1]
        if clash:
            raise DataFormatError(
                f"Output column '{clash[0]}' already exists in the DataFrame (or is named twice); "
                f"choose another name with the output column Params {sorted(self._output_param_names())}."
            )
        struct = StructType(output_struct_fields(outputs))
        function = functools.partial(
            predict_arrays,
            artifact_uri=self.artifact_uri,
            store_uri=self._store_uri,
            token=self._token,
            inputs=inputs,
            outputs=outputs,
            verbose=bool(self.getOrDefault("verbose")) if self.hasParam("verbose") else False,
        )
        with warnings.catch_warnings():
            # PySpark prefers type hints to the explicit UDF type; a functools.partial has none.
            warnings.filterwarnings("ignore", message=".*type hints for arrow UDF.*")
            predict = arrow_udf(function, struct, ArrowUDFType.SCALAR)
        # One UDF call per batch yields every output; Spark evaluates it once however many fields are
        # taken from it. The temporary column's name cannot clash: it is checked against the columns.
        temporary = "__sagespark_prediction__"
        while temporary in taken:
            temporary += "_"
        predicted = dataset.withColumn(temporary, predict(*arguments))
        out = predicted.select(
            "*", *[F.col(temporary)[f.name].alias(name) for f, name in zip(outputs, names)]
        )
        return out.drop(temporary)

    def _output_param_names(self) -> list[str]:
        return [d.name for d in self._decls("output")]

    # -- persistence -------------------------------------------------------------------------
    def write(self) -> SageMakerModelWriter:
        """Writer saving the params metadata and a copy of the artifact (a self-contained directory)."""
        return SageMakerModelWriter(self)

    @classmethod
    def read(cls) -> SageMakerModelReader:
        """Reader for models saved with :meth:`write`."""
        return SageMakerModelReader(cls)
