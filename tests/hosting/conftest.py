"""Fixtures for the hosting tests: small trained models and running endpoints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hosting_helpers import PLUGIN_ENV, HostingTestSlow, blobs  # noqa: E402
from hosting_helpers import train_model as train_model  # noqa: E402

from sagespark.hosting.deploy import EndpointHandle, deploy_local  # noqa: E402


@pytest.fixture(scope="session")
def kmeans_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_model("kmeans", tmp_path_factory.mktemp("kmeans"), blobs(), k=3)


@pytest.fixture(scope="session")
def pca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x = blobs(n=80, dim=6, seed=3)
    return train_model("pca", tmp_path_factory.mktemp("pca"), x, num_components=2, mini_batch_size=80)


@pytest.fixture(scope="session")
def slow_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sagespark.algorithms.artifact import save_artifact

    directory = tmp_path_factory.mktemp("slow")
    hp = HostingTestSlow.hyperparameters.from_dict({"feature_dim": 3, "delay": 1.5})
    save_artifact(directory, HostingTestSlow, hp, {"dim": 3}, {})
    return directory


@pytest.fixture(scope="session")
def kmeans_endpoint(kmeans_dir: Path) -> Iterator[EndpointHandle]:
    with deploy_local(kmeans_dir) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def plugin_env() -> dict[str, str]:
    return dict(PLUGIN_ENV)
