"""The training-job contract: an /opt/ml-style folder in, a servable model (or output/failure) out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sagespark.algorithms.artifact import load_artifact
from sagespark.cli import main
from sagespark.formats import encode
from sagespark.formats.text import encode_request


def _blobs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0], [10, 10, 10]], dtype=np.float32)
    return (centers[rng.integers(0, 2, n)] + rng.normal(0, 0.5, (n, 3))).astype(np.float32)


def _layout(
    root: Path,
    hyperparameters: dict[str, str],
    channels: dict[str, bytes],
    content_type: str = "text/csv",
    hosts: list[str] | None = None,
) -> Path:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(
        json.dumps({c: {"ContentType": content_type, "TrainingInputMode": "File"} for c in channels})
    )
    hosts = hosts or ["algo-1"]
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": hosts[0], "hosts": hosts}))
    for channel, data in channels.items():
        (root / "input" / "data" / channel).mkdir(parents=True)
        (root / "input" / "data" / channel / "part-0").write_bytes(data)
    return root


def test_kmeans_from_csv_then_serve(tmp_path: Path) -> None:
    from sagespark.hosting.deploy import deploy_local

    x = _blobs(200, 0)
    root = _layout(
        tmp_path / "ml",
        {"k": "2", "feature_dim": "3", "mini_batch_size": "50"},
        {"train": encode_request(x[:150], "text/csv"), "test": encode_request(x[150:], "text/csv")},
    )
    env = dict(os.environ, SAGESPARK_ALGORITHM="kmeans")
    result = subprocess.run(
        [sys.executable, "-m", "sagespark.cli", "train", "--root", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "#metric: test:msd=" in result.stdout
    assert not (root / "output" / "failure").exists()
    loaded = load_artifact(root / "model")
    assert loaded.algorithm.name == "kmeans" and loaded.hyperparameters["k"] == 2
    with deploy_local(root / "model") as endpoint:
        got = endpoint.predict(x[:10], content_type="text/csv")
    expected = loaded.predictor.predict({"features": x[:10]})
    np.testing.assert_array_equal(got["closest_cluster"], expected["closest_cluster"])


def test_pca_from_recordio_with_inferred_feature_dim(tmp_path: Path) -> None:
    x = np.random.default_rng(1).normal(size=(60, 5)).astype(np.float32)
    root = _layout(
        tmp_path / "ml",
        {"num_components": "2", "mini_batch_size": "60"},
        {"train": encode(x)},
        content_type="application/x-recordio-protobuf",
    )
    assert main(["train", "--algorithm", "pca", "--root", str(root)]) == 0
    loaded = load_artifact(root / "model")
    assert loaded.hyperparameters["feature_dim"] == 5
    assert loaded.predictor.predict({"features": x})["projection"].shape == (60, 2)


@pytest.mark.parametrize(
    ("hyperparameters", "hosts", "channels", "reason"),
    [
        ({"k": "two"}, None, ("train",), "The 'k' parameter of"),
        ({"k": "2", "bogus": "1"}, None, ("train",), "Unknown hyperparameter"),
        ({"k": "2"}, ["algo-1", "algo-2"], ("train",), "one host"),
        ({"k": "2"}, None, ("test",), "'train' channel is required"),
        ({"k": "2"}, None, ("train", "extra"), "not supported by kmeans"),
    ],
)
def test_failures_write_a_one_line_reason(
    tmp_path: Path,
    hyperparameters: dict[str, str],
    hosts: list[str] | None,
    channels: tuple[str, ...],
    reason: str,
) -> None:
    data = encode_request(_blobs(20, 2), "text/csv")
    root = _layout(tmp_path / "ml", hyperparameters, {c: data for c in channels}, hosts=hosts)
    assert main(["train", "--algorithm", "kmeans", "--root", str(root)]) != 0
    failure = (root / "output" / "failure").read_text()
    assert reason in failure and "\n" not in failure and len(failure) <= 1024


def test_bad_channel_data_names_the_file_and_line(tmp_path: Path) -> None:
    root = _layout(tmp_path / "ml", {"k": "2"}, {"train": b"1,2,3\n4,oops,6\n"})
    assert main(["train", "--algorithm", "kmeans", "--root", str(root)]) == 1
    failure = (root / "output" / "failure").read_text()
    assert "part-0" in failure and "line 2, column 2" in failure


def test_unknown_or_missing_algorithm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGESPARK_ALGORITHM", raising=False)
    root = _layout(tmp_path / "ml", {"k": "2"}, {"train": b"1,2\n"})
    assert main(["train", "--root", str(root)]) == 1
    assert "SAGESPARK_ALGORITHM" in (root / "output" / "failure").read_text()
    assert main(["train", "--algorithm", "nope", "--root", str(root)]) == 1
    assert "Unknown algorithm 'nope'" in (root / "output" / "failure").read_text()
