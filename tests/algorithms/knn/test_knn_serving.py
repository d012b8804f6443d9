"""k-NN responses in SageMaker's shapes (kNN-inference-formats), verbose included, without HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sagespark.algorithms import ChannelData
from sagespark.algorithms.artifact import save_artifact
from sagespark.algorithms.knn import KNN
from sagespark.distributed.context import LocalContext
from sagespark.formats import decode_outputs
from sagespark.hosting.invoker import Invoker
from sagespark.hosting.served_model import load_served_model


def _invoker(tmp_path: Path) -> Invoker:
    x = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0], [9.0, 9.0]], dtype=np.float32)
    y = np.array([0.0, 0.0, 2.0, 2.0, 1.0])
    data = ChannelData(x, y)
    hp = KNN.infer_hyperparameters(
        KNN.hyperparameters.from_dict({"k": 3, "predictor_type": "classifier", "sample_size": 10}), data)
    result = KNN.train(LocalContext(), {"train": data}, hp)
    save_artifact(tmp_path, KNN, hp, result.state, result.metrics)
    return Invoker(load_served_model(tmp_path))


def test_json_responses_match_sagemakers_knn_formats(tmp_path: Path) -> None:
    invoker = _invoker(tmp_path)
    body = b"0.1,0.2\n5.0,5.4\n"
    plain = invoker.invoke(body, "text/csv", "application/json")
    assert plain.status == 200
    assert json.loads(plain.body) == {"predictions": [{"predicted_label": 0.0}, {"predicted_label": 2.0}]}

    verbose = invoker.invoke(body, "text/csv", "application/json; verbose=true")
    assert verbose.status == 200
    rows = json.loads(verbose.body)["predictions"]
    assert [sorted(r) for r in rows] == [["distances", "labels", "predicted_label"]] * 2
    assert rows[0]["labels"] == [0.0, 0.0, 2.0] and rows[1]["labels"] == [2.0, 2.0, 1.0]
    # squared L2 distances, smallest first
    np.testing.assert_allclose(rows[0]["distances"], [0.05, 0.65, 4.9**2 + 4.8**2], rtol=1e-5)
    np.testing.assert_allclose(rows[1]["distances"], [0.16, 0.36, 4.0**2 + 3.6**2], rtol=1e-5)

    lines = invoker.invoke(body, "text/csv", "application/jsonlines; verbose=true")
    assert [json.loads(line) for line in lines.body.decode().splitlines()] == rows


def test_recordio_response_carries_each_output_under_its_key(tmp_path: Path) -> None:
    invoker = _invoker(tmp_path)
    answer = invoker.invoke(b"9.0,8.5\n", "text/csv", "application/x-recordio-protobuf; verbose=true")
    assert answer.status == 200
    outputs = decode_outputs(answer.body)
    assert outputs["predicted_label"].ravel().tolist() == [2.0]  # neighbours labelled 1, 2, 2
    assert np.asarray(outputs["labels"]).reshape(1, 3).tolist() == [[1.0, 2.0, 2.0]]
    distances = np.asarray(outputs["distances"]).reshape(1, 3)
    np.testing.assert_allclose(distances, [[0.25, 16 + 6.25, 16 + 12.25]])


def test_wrong_width_is_a_400_naming_the_width(tmp_path: Path) -> None:
    answer = _invoker(tmp_path).invoke(b"1,2,3\n", "text/csv", "application/json")
    assert answer.status == 400 and b"2 features" in answer.body
