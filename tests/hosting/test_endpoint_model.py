"""EndpointModel in Spark local[2] against a real endpoint: order, exactly-once, retries, persistence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hosting_helpers import blobs, proxy_server

from sagespark.algorithms.artifact import load_artifact
from sagespark.hosting.deploy import EndpointHandle
from sagespark.hosting.endpoint_model import EndpointModel

pytestmark = pytest.mark.spark

X = blobs(n=150, seed=11)


@pytest.fixture(scope="module")
def frame(spark: Any) -> Any:
    from pyspark.ml.linalg import Vectors

    rows = [(i, Vectors.dense(row.tolist())) for i, row in enumerate(X)]
    return spark.createDataFrame(rows, ["id", "features"]).repartition(3)


def _expected(kmeans_dir: Path) -> dict[str, np.ndarray]:
    return load_artifact(kmeans_dir).predictor.predict({"features": X})


@pytest.mark.parametrize(
    ("serializer", "deserializer"),
    [("recordio-protobuf", "json"), ("jsonlines", "csv"), ("libsvm", "recordio-protobuf")],
)
def test_every_row_gets_its_prediction_in_order(
    frame: Any, kmeans_endpoint: EndpointHandle, kmeans_dir: Path, serializer: str, deserializer: str
) -> None:
    model = EndpointModel(
        endpointUrl=kmeans_endpoint.url,
        requestSerializer=serializer,
        responseDeserializer=deserializer,
        maxBatchRows=7,
        concurrency=3,
    )
    out = model.transform(frame)
    assert out.columns == ["id", "features", "closest_cluster", "distance_to_cluster"]
    rows = out.collect()
    assert len(rows) == len(X) and sorted(r.id for r in rows) == list(range(len(X)))
    # Within each partition the outputs sit next to their own input row.
    expected = _expected(kmeans_dir)
    for row in rows:
        np.testing.assert_array_equal(row.features.toArray().astype(np.float32), X[row.id])
        assert row.closest_cluster == expected["closest_cluster"][row.id]
        tolerance = 1e-6 if serializer == "libsvm" or deserializer == "recordio-protobuf" else 0.0
        assert abs(row.distance_to_cluster - expected["distance_to_cluster"][row.id]) <= tolerance


def test_outputs_param_prefix_and_byte_bound(frame: Any, kmeans_endpoint: EndpointHandle) -> None:
    model = EndpointModel(
        endpointUrl=kmeans_endpoint.url,
        requestSerializer="csv",
        outputs=["closest_cluster:double", "distance_to_cluster:double"],
        outputColPrefix="km_",
        maxBatchBytes=300,
    )
    out = model.transform(frame)
    assert out.columns[-2:] == ["km_closest_cluster", "km_distance_to_cluster"]
    assert out.count() == len(X)


def test_retries_on_503_then_succeeds(frame: Any, kmeans_endpoint: EndpointHandle) -> None:
    def flaky(call_no: int, status: int, body: bytes) -> tuple[int, bytes]:
        return (503, b"busy\n") if call_no <= 3 else (status, body)

    with proxy_server(kmeans_endpoint.url, flaky) as (url, answered):
        model = EndpointModel(
            endpointUrl=url,
            requestSerializer="csv",
            maxBatchRows=50,
            backoffBaseSeconds=0.01,
            outputs=["closest_cluster:double", "distance_to_cluster:double"],
        )
        assert model.transform(frame).count() == len(X)
    assert answered.count(503) == 3 and answered.count(200) >= 3


def test_a_short_response_fails_the_job(frame: Any, kmeans_endpoint: EndpointHandle) -> None:
    def drop_last_row(call_no: int, status: int, body: bytes) -> tuple[int, bytes]:
        doc = json.loads(body)
        doc["predictions"] = doc["predictions"][:-1]
        return status, json.dumps(doc).encode()

    with proxy_server(kmeans_endpoint.url, drop_last_row) as (url, _):
        model = EndpointModel(endpointUrl=url, requestSerializer="csv", maxBatchRows=50)
        with pytest.raises(Exception, match="exactly one output row") as info:
            model.transform(frame).collect()
    assert "partition" in str(info.value)


def test_retries_are_bounded(frame: Any, kmeans_endpoint: EndpointHandle) -> None:
    with proxy_server(kmeans_endpoint.url, lambda n, s, b: (500, b"down\n")) as (url, answered):
        model = EndpointModel(
            endpointUrl=url,
            requestSerializer="csv",
            maxAttempts=2,
            backoffBaseSeconds=0.01,
            outputs=["closest_cluster:double", "distance_to_cluster:double"],
        )
        with pytest.raises(Exception, match="after 2 attempts"):
            model.transform(frame.limit(5)).collect()


def test_client_errors_are_not_retried(spark: Any, kmeans_endpoint: EndpointHandle) -> None:
    from pyspark.ml.linalg import Vectors

    narrow = spark.createDataFrame([(Vectors.dense([1.0, 2.0]),)], ["features"])
    model = EndpointModel(endpointUrl=kmeans_endpoint.url, requestSerializer="csv")
    with pytest.raises(Exception, match="HTTP 400: Each row must have 4 features"):
        model.transform(narrow).collect()


def test_persists_inside_a_pipeline(frame: Any, kmeans_endpoint: EndpointHandle, tmp_path: Path) -> None:
    from pyspark.ml import Pipeline, PipelineModel

    model = EndpointModel(endpointUrl=kmeans_endpoint.url, requestSerializer="jsonlines", concurrency=2)
    fitted = Pipeline(stages=[model]).fit(frame)
    fitted.write().overwrite().save(str(tmp_path / "pipe"))
    loaded = PipelineModel.load(str(tmp_path / "pipe"))
    stage = loaded.stages[0]
    assert isinstance(stage, EndpointModel)
    assert stage.getEndpointUrl() == kmeans_endpoint.url
    assert stage.getOrDefault(stage.requestSerializer) == "jsonlines"
    assert loaded.transform(frame).count() == len(X)
    single = EndpointModel.load(
        str(
            tmp_path
            / "pipe"
            / "stages"
            / next(iter(p.name for p in (tmp_path / "pipe" / "stages").iterdir()))
        )
    )
    assert single.getOrDefault(single.concurrency) == 2


def test_invalid_params_fail_before_any_job(frame: Any) -> None:
    with pytest.raises(ValueError, match="requestSerializer"):
        EndpointModel(
            endpointUrl="http://127.0.0.1:1", requestSerializer="xml", outputs=["a:double"]
        ).transform(frame)
    with pytest.raises(ValueError, match="endpointUrl"):
        EndpointModel().transform(frame)
