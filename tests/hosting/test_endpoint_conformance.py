"""For every built-in algorithm: the endpoint answers exactly what its Predictor and model.transform give.

Uses the conformance suite's tiny-data recipes (tests/conformance/conformance_examples.py); an algorithm
without one fails here, so a new algorithm is held to the same contract.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))

from conformance_examples import EXAMPLES  # noqa: E402

from sagespark.algorithms import all_algorithms  # noqa: E402
from sagespark.algorithms.artifact import load_artifact, save_artifact  # noqa: E402
from sagespark.algorithms.base import ChannelData  # noqa: E402
from sagespark.distributed.context import LocalContext  # noqa: E402
from sagespark.hosting.deploy import EndpointHandle, deploy_local  # noqa: E402

BUILTINS = sorted(n for n, a in all_algorithms().items() if a.__module__.startswith("sagespark.algorithms."))
REQUESTS = ["text/csv", "application/json", "application/jsonlines", "application/x-recordio-protobuf"]
ACCEPTS = ["application/json", "application/jsonlines", "text/csv", "application/x-recordio-protobuf"]


def _rows(name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    if name not in EXAMPLES:
        pytest.fail(
            f"No conformance recipe for {name!r}: add one in tests/conformance/recipes/."
        )
    example = EXAMPLES[name](np.random.default_rng(0))
    train = np.asarray(example.train["features"], dtype=np.float32)
    test = np.asarray(example.test.get("features", example.train["features"]), dtype=np.float32)
    return train, test, example.params


@pytest.fixture(scope="module", params=BUILTINS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, np.ndarray, EndpointHandle]]:
    name = request.param
    algorithm = all_algorithms()[name]
    train, test, params = _rows(name)
    fields = algorithm.hyperparameters.fields()
    hp = algorithm.hyperparameters.from_dict({k: v for k, v in params.items() if k in fields})
    data = ChannelData(train)
    hp = algorithm.infer_hyperparameters(hp, data)
    result = algorithm.train(LocalContext(), {"train": data}, hp)
    directory = tmp_path_factory.mktemp(name)
    save_artifact(directory, algorithm, hp, result.state, result.metrics)
    with deploy_local(directory) as endpoint:
        yield name, directory, test, endpoint


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("content_type", REQUESTS)
def test_endpoint_equals_predictor(
    served: tuple[str, Path, np.ndarray, EndpointHandle], content_type: str, accept: str
) -> None:
    _, directory, x, endpoint = served
    expected = load_artifact(directory).predictor.predict({"features": x})
    got = endpoint.predict(x, content_type=content_type, accept=accept)
    assert sorted(got) == sorted(expected)
    for name, values in expected.items():
        values = np.asarray(values)
        if accept == "application/x-recordio-protobuf":
            values = values.astype(np.float32)  # SageMaker's responses carry Float32Tensors
        np.testing.assert_array_equal(
            np.asarray(got[name]).reshape(values.shape).astype(values.dtype), values
        )


@pytest.mark.spark
def test_endpoint_equals_model_transform(
    served: tuple[str, Path, np.ndarray, EndpointHandle], spark: Any
) -> None:
    from pyspark.ml.linalg import Vectors

    from sagespark.hosting.endpoint_model import EndpointModel
    from sagespark.ml.registry import estimator_for

    name, directory, x, endpoint = served
    frame = spark.createDataFrame(
        [(i, Vectors.dense(r.tolist())) for i, r in enumerate(x)], ["id", "features"]
    )
    model = estimator_for(name).model_class.from_artifact(str(directory))
    outputs = [f.name for f in all_algorithms()[name].outputs if not f.verbose]
    local = {r.id: r for r in model.transform(frame).select("id", *outputs).collect()}
    remote = EndpointModel(endpointUrl=endpoint.url, outputColPrefix="ep_").transform(frame).collect()
    assert len(remote) == len(x)
    for row in remote:
        for output in outputs:
            mine, theirs = row[f"ep_{output}"], local[row.id][output]
            if hasattr(mine, "toArray"):
                mine, theirs = mine.toArray(), theirs.toArray()
            np.testing.assert_array_equal(mine, theirs)
