"""IP Insights inference: the artifact round trip, verbose outputs, and the endpoint's request forms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sagespark.algorithms import ChannelData, get_algorithm
from sagespark.algorithms.artifact import load_artifact, save_artifact
from sagespark.distributed.context import LocalContext
from sagespark.errors import ArtifactError, DataFormatError
from sagespark.hosting.client import EndpointClient
from sagespark.hosting.deploy import EndpointHandle, deploy_local

ALGO = get_algorithm("ipinsights")
ENTITY = np.array(["alice", "bob", "carol", "alice"], dtype=object)
IP = np.array(["192.168.1.20", "10.0.0.7", "172.16.5.4", "8.8.8.8"], dtype=object)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    users = rng.integers(0, 20, 400)
    entity = np.array([f"user-{u}" for u in users], dtype=object)
    ip = np.array([f"10.{u}.{u}.{h}" for u, h in zip(users, rng.integers(1, 255, 400))], dtype=object)
    hp = ALGO.hyperparameters.from_dict({"num_entity_vectors": 40, "vector_dim": 8, "epochs": 2,
                                         "mini_batch_size": 64, "num_ip_encoder_layers": 2})
    data = ChannelData(None, columns={"entity": entity, "ip": ip})
    result = ALGO.train(LocalContext(), {"train": data}, hp)
    directory = tmp_path_factory.mktemp("ipinsights-model")
    save_artifact(directory, ALGO, hp, result.state, result.metrics)
    return directory


def test_loaded_model_scores_and_verbose_embeddings_agree(model_dir: Path) -> None:
    predictor = load_artifact(model_dir).predictor
    plain = predictor.predict({"entity": ENTITY, "ip": IP})
    assert sorted(plain) == ["dot_product"] and plain["dot_product"].dtype == np.float64
    verbose = predictor.predict({"entity": ENTITY, "ip": IP}, verbose=True)
    np.testing.assert_array_equal(verbose["dot_product"], plain["dot_product"])
    e, v = verbose["entity_embedding"], verbose["ip_embedding"]
    assert e.shape == v.shape == (4, 8)
    np.testing.assert_allclose(np.einsum("ij,ij->i", e, v), plain["dot_product"], rtol=1e-5)
    np.testing.assert_array_equal(e[0], e[3])  # the same entity, the same vector
    # Rows are scored independently: a sub-batch gives the same numbers.
    np.testing.assert_allclose(predictor.predict({"entity": ENTITY[2:], "ip": IP[2:]})["dot_product"],
                               plain["dot_product"][2:], rtol=1e-6)


def test_predict_rejects_invalid_ips_and_missing_inputs(model_dir: Path) -> None:
    predictor = load_artifact(model_dir).predictor
    with pytest.raises(DataFormatError, match=r"Column 'ip', row 1: '10.0.0' is not an IPv4 address"):
        predictor.predict({"entity": ENTITY[:2], "ip": np.array(["1.2.3.4", "10.0.0"], dtype=object)})
    with pytest.raises(DataFormatError, match="'entity' is missing"):
        predictor.predict({"ip": IP})


def test_a_tampered_artifact_is_refused(model_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["hyperparameters"]["vector_dim"] = "16"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="vector_dim=16"):
        load_artifact(copy)


@pytest.fixture(scope="module")
def endpoint(model_dir: Path) -> Iterator[EndpointHandle]:
    with deploy_local(model_dir) as handle:
        yield handle


def _post(endpoint: EndpointHandle, body: bytes, content_type: str, accept: str) -> tuple[int, bytes]:
    client = EndpointClient(endpoint.url)
    try:
        status, payload, _ = client.request(
            "POST", "/invocations", body, {"Content-Type": content_type, "Accept": accept}
        )
    finally:
        client.close()
    return status, payload


def test_endpoint_takes_sagemakers_request_forms(endpoint: EndpointHandle, model_dir: Path) -> None:
    expected = load_artifact(model_dir).predictor.predict({"entity": ENTITY, "ip": IP})["dot_product"]
    csv = "".join(f"{e}, {i}\n" for e, i in zip(ENTITY, IP)).encode()  # the guide's "entity, ip" rows
    instances = [{"data": {"features": {"values": [e, i]}}} for e, i in zip(ENTITY[:2], IP[:2])]
    instances += [{"features": [ENTITY[2], IP[2]]}, {"data": [ENTITY[3], IP[3]]}]
    bodies = {
        "text/csv": csv,
        "application/json": json.dumps({"instances": instances}).encode(),
        "application/jsonlines": "".join(json.dumps(i) + "\n" for i in instances).encode(),
    }
    for content_type, body in bodies.items():
        status, payload = _post(endpoint, body, content_type, "application/json")
        assert status == 200, payload
        rows = json.loads(payload)["predictions"]
        assert [sorted(r) for r in rows] == [["dot_product"]] * 4
        np.testing.assert_array_equal([r["dot_product"] for r in rows], expected)


def test_endpoint_verbose_adds_the_embeddings(endpoint: EndpointHandle) -> None:
    body = b"alice,192.168.1.20\n"
    status, payload = _post(endpoint, body, "text/csv", "application/json; verbose=True")
    assert status == 200, payload
    (row,) = json.loads(payload)["predictions"]
    assert sorted(row) == ["dot_product", "entity_embedding", "ip_embedding"]
    assert len(row["entity_embedding"]) == len(row["ip_embedding"]) == 8
    assert row["dot_product"] == pytest.approx(float(np.dot(row["entity_embedding"], row["ip_embedding"])),
                                               rel=1e-5)


def test_endpoint_answers_400_naming_the_row_of_an_invalid_ip(endpoint: EndpointHandle) -> None:
    status, payload = _post(endpoint, b"alice,1.2.3.4\nbob,300.1.1.1\n", "text/csv", "application/json")
    assert status == 400
    assert b"row 1" in payload and b"300.1.1.1" in payload and b"IPv4" in payload
    status, payload = _post(endpoint, b"alice,1.2.3.4,extra\n", "text/csv", "application/json")
    assert status == 400 and b"CSV line 1 has 3 fields; expected 2" in payload
