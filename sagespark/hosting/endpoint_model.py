"""``EndpointModel``: a Spark Transformer that scores a DataFrame through a SageMaker-style endpoint.

Each partition is sent to the endpoint's ``/invocations`` in requests bounded by bytes and rows, from a
few threads per partition, with retries and backoff; the outputs come back as columns named after the
algorithm's outputs, one output row per input row, in order. The model is ``MLWritable`` /
``MLReadable`` (it holds Params only), so Pipelines that contain it save and load.

Examples
--------
>>> from sagespark.hosting.endpoint_model import EndpointModel
>>> model = EndpointModel(endpointUrl="http://127.0.0.1:8080", requestSerializer="csv")   # doctest: +SKIP
>>> model.transform(df).select("closest_cluster").show()                                   # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import Any

from pyspark import keyword_only
from pyspark.ml import Transformer
from pyspark.ml.param import Param, Params, TypeConverters
from pyspark.ml.util import DefaultParamsReadable, DefaultParamsWritable
from pyspark.sql import DataFrame
from pyspark.sql.types import StructType

from sagespark.algorithms.base import OutputField
from sagespark.errors import DataFormatError
from sagespark.formats.text import STRING_ROW_TYPES
from sagespark.hosting.client import EndpointClient, EndpointError, RetryPolicy
from sagespark.hosting.endpoint_requests import (
    DESERIALIZERS,
    SERIALIZERS,
    EndpointCallSettings,
    send_partition,
)

__all__ = ["EndpointModel"]

_KINDS = ("double", "vector", "string")


def _parse_output(spec: str) -> OutputField:
    name, _, kind = spec.partition(":")
    kind = kind.strip() or "double"
    if not name.strip() or kind not in _KINDS:
        raise ValueError(f"Each output must be 'name:kind' with kind in {_KINDS}; got {spec!r}.")
    return OutputField(name.strip(), kind)


class EndpointModel(Transformer, DefaultParamsReadable["EndpointModel"], DefaultParamsWritable):
    """Score a DataFrame through an endpoint that speaks SageMaker's ``/invocations`` contract.

    Parameters
    ----------
    endpointUrl : str
        Base URL of the endpoint (``http://host:port``), e.g. ``deploy_local(...).url``.
    featuresCol : str
        Vector (or numeric array) column to send. Default ``"features"``.
    inputCols : list of str
        String columns sent as the fields of each request row instead of ``featuresCol``, for models
        whose inputs are strings (IP Insights: ``["entity", "ip"]``); needs the ``csv``, ``json`` or
        ``jsonlines`` serializer. Default empty (send ``featuresCol``).
    requestSerializer : str
        ``"recordio-protobuf"`` (default), ``"csv"``, ``"jsonlines"``, ``"json"`` or ``"libsvm"``.
    responseDeserializer : str
        ``"json"`` (default), ``"jsonlines"``, ``"recordio-protobuf"`` or ``"csv"``.
    outputs : list of str
        ``"name:kind"`` (kind ``double``, ``vector`` or ``string``) in response order; empty (default)
        asks the endpoint (``GET /model``, served by ``sagespark serve``).
    outputColPrefix : str
        Prefix for the output column names (default none: the outputs' own names).
    maxBatchBytes, maxBatchRows : int
        Bounds of one request (default 5 MB, below SageMaker's 6 MB limit, and 10,000 rows).
    concurrency : int
        Requests in flight per partition (default 4).
    maxAttempts : int
        Attempts per request on connection errors, 429 and 5xx (default 5).
    backoffBaseSeconds, backoffMaxSeconds : float
        Exponential backoff with full jitter between attempts (default 0.1 s doubling, capped at 10 s).
    timeoutSeconds : float
        Socket timeout per attempt (default 60 s, SageMaker's invocation limit).

    Examples
    --------
    >>> model = EndpointModel(endpointUrl=endpoint.url, requestSerializer="csv",        # doctest: +SKIP
    ...                       outputs=["closest_cluster:double", "distance_to_cluster:double"])
    >>> model.transform(df).columns                                                      # doctest: +SKIP
    ['features', 'closest_cluster', 'distance_to_cluster']
    """

    _input_kwargs: dict[str, Any]

    endpointUrl: Param[str] = Param(
        Params._dummy(), "endpointUrl", "Base URL of the endpoint.", TypeConverters.toString
    )
    featuresCol: Param[str] = Param(
        Params._dummy(), "featuresCol", "Features column to send.", TypeConverters.toString
    )
    inputCols: Param[list[str]] = Param(
        Params._dummy(), "inputCols", "String columns sent as request rows instead of featuresCol.",
        TypeConverters.toListString,
    )  # fmt: skip
    requestSerializer: Param[str] = Param(
        Params._dummy(), "requestSerializer", f"Request format: one of {sorted(SERIALIZERS)}.",
        TypeConverters.toString,
    )  # fmt: skip
    responseDeserializer: Param[str] = Param(
        Params._dummy(), "responseDeserializer", f"Response format: one of {sorted(DESERIALIZERS)}.",
        TypeConverters.toString,
    )  # fmt: skip
    outputs: Param[list[str]] = Param(
        Params._dummy(), "outputs", "Outputs as 'name:kind'; empty asks the endpoint.",
        TypeConverters.toListString,
    )  # fmt: skip
    outputColPrefix: Param[str] = Param(
        Params._dummy(), "outputColPrefix", "Prefix of the output column names.", TypeConverters.toString
    )
    maxBatchBytes: Param[int] = Param(
        Params._dummy(), "maxBatchBytes", "Largest request body in bytes.", TypeConverters.toInt
    )
    maxBatchRows: Param[int] = Param(
        Params._dummy(), "maxBatchRows", "Most rows in one request.", TypeConverters.toInt
    )
    concurrency: Param[int] = Param(
        Params._dummy(), "concurrency", "Requests in flight per partition.", TypeConverters.toInt
    )
    maxAttempts: Param[int] = Param(
        Params._dummy(), "maxAttempts", "Attempts per request (retries + 1).", TypeConverters.toInt
    )
    backoffBaseSeconds: Param[float] = Param(
        Params._dummy(), "backoffBaseSeconds", "First backoff bound in seconds.", TypeConverters.toFloat
    )
    backoffMaxSeconds: Param[float] = Param(
        Params._dummy(), "backoffMaxSeconds", "Largest backoff in seconds.", TypeConverters.toFloat
    )
    timeoutSeconds: Param[float] = Param(
        Params._dummy(), "timeoutSeconds", "Socket timeout per attempt.", TypeConverters.toFloat
    )

    @keyword_only
    def __init__(
        self,
        *,
        endpointUrl: str | None = None,
        featuresCol: str = "features",
        inputCols: list[str] | None = None,
        requestSerializer: str = "recordio-protobuf",
        responseDeserializer: str = "json",
        outputs: list[str] | None = None,
        outputColPrefix: str = "",
        maxBatchBytes: int = 5 << 20,
        maxBatchRows: int = 10_000,
        concurrency: int = 4,
        maxAttempts: int = 5,
        backoffBaseSeconds: float = 0.1,
        backoffMaxSeconds: float = 10.0,
        timeoutSeconds: float = 60.0,
    ) -> None:
        super().__init__()
        self._setDefault(
            featuresCol="features",
            inputCols=[],
            requestSerializer="recordio-protobuf",
            responseDeserializer="json",
            outputs=[],
            outputColPrefix="",
            maxBatchBytes=5 << 20,
            maxBatchRows=10_000,
            concurrency=4,
            maxAttempts=5,
            backoffBaseSeconds=0.1,
            backoffMaxSeconds=10.0,
            timeoutSeconds=60.0,
        )
        kwargs = self._input_kwargs
        self._set(**{k: v for k, v in kwargs.items() if v is not None})

    @keyword_only
    def setParams(self, **kwargs: Any) -> EndpointModel:
        """Set any Params by name."""
        return self._set(**self._input_kwargs)

    def setEndpointUrl(self, value: str) -> EndpointModel:
        return self._set(endpointUrl=value)

    def getEndpointUrl(self) -> str:
        return self.getOrDefault(self.endpointUrl)

    def setFeaturesCol(self, value: str) -> EndpointModel:
        return self._set(featuresCol=value)

    def getFeaturesCol(self) -> str:
        return self.getOrDefault(self.featuresCol)

    def setInputCols(self, value: list[str]) -> EndpointModel:
        return self._set(inputCols=value)

    def getInputCols(self) -> list[str]:
        cols: list[str] = self.getOrDefault(self.inputCols)
        return list(cols)

    def setRequestSerializer(self, value: str) -> EndpointModel:
        return self._set(requestSerializer=value)

    def setResponseDeserializer(self, value: str) -> EndpointModel:
        return self._set(responseDeserializer=value)

    def setOutputs(self, value: list[str]) -> EndpointModel:
        return self._set(outputs=value)

    # -- transform ---------------------------------------------------------------------------
    def _settings(self) -> EndpointCallSettings:
        if not self.isDefined(self.endpointUrl):
            raise ValueError("EndpointModel needs endpointUrl (e.g. deploy_local(model_dir).url).")
        url = self.getEndpointUrl()
        serializer = self.getOrDefault(self.requestSerializer)
        deserializer = self.getOrDefault(self.responseDeserializer)
        if serializer not in SERIALIZERS:
            raise ValueError(f"requestSerializer must be one of {sorted(SERIALIZERS)}; got {serializer!r}.")
        if deserializer not in DESERIALIZERS:
            raise ValueError(
                f"responseDeserializer must be one of {sorted(DESERIALIZERS)}; got {deserializer!r}."
            )
        specs = self.getOrDefault(self.outputs)
        fields = tuple(_parse_output(s) for s in specs) if specs else _discover_outputs(url)
        positive = {
            "maxBatchBytes": self.getOrDefault(self.maxBatchBytes),
            "maxBatchRows": self.getOrDefault(self.maxBatchRows),
            "concurrency": self.getOrDefault(self.concurrency),
            "maxAttempts": self.getOrDefault(self.maxAttempts),
        }
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"The '{name}' parameter of EndpointModel must be an int >= 1. Got {value}.")
        return EndpointCallSettings(
            url=url,
            content_type=SERIALIZERS[serializer],
            accept=DESERIALIZERS[deserializer],
            fields=fields,
            max_batch_bytes=positive["maxBatchBytes"],
            max_batch_rows=positive["maxBatchRows"],
            concurrency=positive["concurrency"],
            timeout_s=self.getOrDefault(self.timeoutSeconds),
            retry=RetryPolicy(
                max_attempts=positive["maxAttempts"],
                base_delay_s=self.getOrDefault(self.backoffBaseSeconds),
                max_delay_s=self.getOrDefault(self.backoffMaxSeconds),
            ),
        )

    def _transform(self, dataset: DataFrame) -> DataFrame:
        from sagespark.data.channels import output_struct_fields

        settings = self._settings()
        features_col = self.getFeaturesCol()
        columns = dataset.columns
        input_cols = self.getInputCols()
        missing = [c for c in input_cols or [features_col] if c not in columns]
        if missing:
            which = "inputCols" if input_cols else "featuresCol"
            raise DataFormatError(
                f"EndpointModel's {which} {missing} not in the columns; the columns are {columns}."
            )
        if input_cols and settings.content_type not in STRING_ROW_TYPES:
            raise ValueError(
                "EndpointModel sends inputCols as rows of strings: set requestSerializer to 'csv', 'json' or "
                f"'jsonlines' (got {self.getOrDefault(self.requestSerializer)!r})."
            )
        prefix = self.getOrDefault(self.outputColPrefix)
        output_columns = [prefix + f.name for f in settings.fields]
        clashes = sorted(set(output_columns) & set(columns))
        if clashes:
            raise DataFormatError(
                f"Output column(s) {clashes} already exist; drop them or set outputColPrefix."
            )
        out_fields = output_struct_fields(settings.fields)
        schema = StructType(
            list(dataset.schema.fields)
            + [f.__class__(name, f.dataType, f.nullable) for name, f in zip(output_columns, out_fields)]
        )
        function = functools.partial(
            send_partition,
            settings=settings,
            features_position=columns.index(features_col) if not input_cols else -1,
            input_positions=tuple(columns.index(c) for c in input_cols),
            features_col=features_col,
            output_columns=tuple(output_columns),
        )
        return dataset.mapInArrow(function, schema)


def _discover_outputs(url: str) -> tuple[OutputField, ...]:
    """Ask a sagespark endpoint for its outputs (``GET /model``); other endpoints need ``outputs``."""
    import json

    client = EndpointClient(url, timeout_s=10.0)
    try:
        status, body, _ = client.request("GET", "/model")
    except OSError as err:
        raise EndpointError(f"Cannot reach {client.url} to discover its outputs: {err}") from None
    finally:
        client.close()
    if status != 200:
        raise EndpointError(
            f"{client.url} does not describe its outputs (GET /model answered HTTP {status}); "
            "set EndpointModel's outputs Param, "
            "e.g. ['closest_cluster:double', 'distance_to_cluster:double'].",
            status,
        )
    info = json.loads(body)
    return tuple(OutputField(o["name"], o["kind"]) for o in info["outputs"] if not o.get("verbose"))
