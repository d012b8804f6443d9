"""IP Insights through the SageMaker training-job contract: CSV ``entity, ip`` channels in, a model out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sagespark.algorithms.artifact import load_artifact
from sagespark.cli import main


def _layout(root: Path, hyperparameters: dict[str, str], channels: dict[str, bytes]) -> Path:
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    (config / "inputdataconfig.json").write_text(
        json.dumps({c: {"ContentType": "text/csv", "TrainingInputMode": "File"} for c in channels})
    )
    (config / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    for channel, data in channels.items():
        (root / "input" / "data" / channel).mkdir(parents=True)
        (root / "input" / "data" / channel / "part-0").write_bytes(data)
    return root


def _csv(rng: np.random.Generator, rows: int, bad_row: int | None = None) -> bytes:
    users = rng.integers(0, 10, rows)
    lines = [f"user-{u}, 10.{u}.0.{h}" for u, h in zip(users, rng.integers(1, 255, rows))]
    if bad_row is not None:
        lines[bad_row] = "user-1, 10.1.0.300"
    return ("\n".join(lines) + "\n").encode()


HP = {"num_entity_vectors": "20", "vector_dim": "8", "epochs": "2", "mini_batch_size": "50"}


def test_trains_from_csv_channels_and_reports_the_validation_metric(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    root = _layout(tmp_path / "ml", HP, {"train": _csv(rng, 300), "validation": _csv(rng, 60)})
    assert main(["train", "--algorithm", "ipinsights", "--root", str(root)]) == 0
    loaded = load_artifact(root / "model")
    assert loaded.algorithm.name == "ipinsights" and loaded.hyperparameters["vector_dim"] == 8
    assert "validation:discriminator_auc" in loaded.manifest["metrics"]
    out = loaded.predictor.predict({"entity": np.array(["user-3"], dtype=object),
                                    "ip": np.array(["10.3.0.9"], dtype=object)})
    assert out["dot_product"].shape == (1,)


def test_an_invalid_ip_fails_the_job_naming_channel_and_row(tmp_path: Path) -> None:
    root = _layout(tmp_path / "ml", HP, {"train": _csv(np.random.default_rng(1), 40, bad_row=17)})
    assert main(["train", "--algorithm", "ipinsights", "--root", str(root)]) == 1
    failure = (root / "output" / "failure").read_text()
    assert "train channel" in failure and "row 17" in failure and "'10.1.0.300' is not an IPv4" in failure
