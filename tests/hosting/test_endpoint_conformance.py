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


def _string_inputs(algorithm: Any) -> list[str]:
    """Input names when every prediction input is a string: such models take rows of strings."""
    used = [f for f in algorithm.inputs if f.used_for_prediction]
    return [f.name for f in used] if used and all(f.kind == "string" for f in used) else []


def _batch(algorithm: Any, x: np.ndarray) -> dict[str, Any]:
    """The Predictor's batch for request rows ``x``."""
    strings = _string_inputs(algorithm)
    return {n: x[:, i] for i, n in enumerate(strings)} if strings else {"features": x}


def _rows(name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any], np.ndarray | None]:
    if name not in EXAMPLES:
        pytest.fail(
            f"No conformance recipe for {name!r}: add one in tests/conformance/recipes/."
        )
    example = EXAMPLES[name](np.random.default_rng(0))
    strings = _string_inputs(all_algorithms()[name])
    if strings:  # rows of strings (IP Insights: entity, ip), one column per input
        test_inputs = example.test or example.train
        train = np.column_stack([example.train[n] for n in strings]).astype(object)
        test = np.column_stack([test_inputs[n] for n in strings]).astype(object)
        return train, test, example.params, None
    train = np.asarray(example.train["features"], dtype=np.float32)
    test = np.asarray(example.test.get("features", example.train["features"]), dtype=np.float32)
    label = example.train.get("label")  # supervised algorithms (XGBoost) train on labels too
    return train, test, example.params, None if label is None else np.asarray(label, dtype=np.float64)


@pytest.fixture(scope="module", params=BUILTINS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, np.ndarray, EndpointHandle]]:
    name = request.param
    algorithm = all_algorithms()[name]
    train, test, params, label = _rows(name)
    fields = algorithm.hyperparameters.fields()
    hp = algorithm.hyperparameters.from_dict({k: v for k, v in params.items() if k in fields})
    strings = _string_inputs(algorithm)
    data = (
        ChannelData(None, columns={n: train[:, i] for i, n in enumerate(strings)}) if strings
        else ChannelData(train, label)
    )  # fmt: skip
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
    algorithm_name, directory, x, endpoint = served
    algorithm = all_algorithms()[algorithm_name]
    if _string_inputs(algorithm) and content_type == "application/x-recordio-protobuf":
        # RecordIO-protobuf carries numbers only: a string-input model (IP Insights) answers 415.
        from sagespark.formats import encode
        from sagespark.hosting.client import EndpointError

        with pytest.raises(EndpointError) as refused:
            endpoint.predict(encode(np.zeros((2, 2), np.float32)), content_type=content_type, accept=accept)
        assert refused.value.status == 415
        return
    expected = load_artifact(directory).predictor.predict(_batch(algorithm, x))
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
    strings = _string_inputs(all_algorithms()[name])
    if strings:  # string inputs (IP Insights) travel as rows of strings, here as CSV
        frame = spark.createDataFrame([(i, *map(str, r)) for i, r in enumerate(x)], ["id", *strings])
        client = EndpointModel(endpointUrl=endpoint.url, outputColPrefix="ep_", inputCols=strings,
                               requestSerializer="csv")
    else:
        frame = spark.createDataFrame(
            [(i, Vectors.dense(r.tolist())) for i, r in enumerate(x)], ["id", "features"]
        )
        client = EndpointModel(endpointUrl=endpoint.url, outputColPrefix="ep_")
    model = estimator_for(name).model_class.from_artifact(str(directory))
    fields = model.sagemaker_algorithm.output_fields(model.hyperparameters)
    outputs = [f.name for f in fields if not f.verbose]
    local = {r.id: r for r in model.transform(frame).select("id", *outputs).collect()}
    remote = client.transform(frame).collect()
    assert len(remote) == len(x)
    for row in remote:
        for output in outputs:
            mine, theirs = row[f"ep_{output}"], local[row.id][output]
            if hasattr(mine, "toArray"):
                mine, theirs = mine.toArray(), theirs.toArray()
            np.testing.assert_array_equal(mine, theirs)
