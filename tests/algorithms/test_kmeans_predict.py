"""K-Means prediction and the saved payload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from sagespark.algorithms import ChannelData
from sagespark.algorithms.kmeans import KMeans, KMeansPredictor, KMeansState
from sagespark.distributed.context import LocalContext
from sagespark.errors import ArtifactError, DataFormatError


@pytest.fixture(scope="module")
def trained() -> tuple[np.ndarray, object, KMeansState]:
    x = load_digits().data.astype(np.float32)
    hp = KMeans.infer_hyperparameters(KMeans.hyperparameters.from_dict({"k": 8}), ChannelData(x))
    return x, hp, KMeans.train(LocalContext(), {"train": ChannelData(x)}, hp).state


def test_outputs_are_nearest_centre_and_euclidean_distance(trained: tuple) -> None:
    x, _, state = trained
    out = KMeansPredictor(state.centers).predict({"features": x})
    assert set(out) == {"closest_cluster", "distance_to_cluster"}
    assert out["closest_cluster"].dtype == np.float64 and out["distance_to_cluster"].dtype == np.float64
    assert out["closest_cluster"].shape == (x.shape[0],)
    brute = np.sqrt(((x[:, None, :].astype(np.float64) - state.centers[None]) ** 2).sum(axis=2))
    np.testing.assert_array_equal(out["closest_cluster"], brute.argmin(axis=1).astype(np.float64))
    np.testing.assert_allclose(out["distance_to_cluster"], brute.min(axis=1), rtol=1e-7, atol=1e-6)


def test_sparse_and_dense_requests_agree(trained: tuple) -> None:
    x, _, state = trained
    predictor = KMeansPredictor(state.centers)
    dense = predictor.predict({"features": x[:200]})
    sparse = predictor.predict({"features": sp.csr_matrix(x[:200])})
    np.testing.assert_array_equal(sparse["closest_cluster"], dense["closest_cluster"])
    np.testing.assert_allclose(sparse["distance_to_cluster"], dense["distance_to_cluster"], rtol=1e-9)


def test_save_load_round_trip_gives_identical_predictions(trained: tuple, tmp_path: Path) -> None:
    x, hp, state = trained
    KMeans.save(state, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["centers.npy"]
    # The payload is a plain .npy that loads without pickle.
    np.testing.assert_array_equal(np.load(tmp_path / "centers.npy", allow_pickle=False), state.centers)
    loaded = KMeans.load(tmp_path, hp)
    assert loaded.feature_dim == 64
    before = KMeansPredictor(state.centers).predict({"features": x})
    after = loaded.predict({"features": x})
    for key in before:
        np.testing.assert_array_equal(after[key], before[key])


def test_wrong_feature_dimension_names_expected_and_got(trained: tuple) -> None:
    x, _, state = trained
    with pytest.raises(DataFormatError, match="expected 64, got 10"):
        KMeansPredictor(state.centers).predict({"features": x[:5, :10]})
    with pytest.raises(DataFormatError, match="'features'"):
        KMeansPredictor(state.centers).predict({})
    with pytest.raises(DataFormatError, match="2-D"):
        KMeansPredictor(state.centers).predict({"features": x[0]})


def test_non_finite_request_names_the_row(trained: tuple) -> None:
    x, _, state = trained
    bad = x[:20].copy()
    bad[13, 2] = np.nan
    with pytest.raises(DataFormatError, match="row 13"):
        KMeansPredictor(state.centers).predict({"features": bad})
    with pytest.raises(DataFormatError, match="row 13"):
        KMeansPredictor(state.centers).predict({"features": sp.csr_matrix(bad)})


def test_empty_request_gives_empty_outputs(trained: tuple) -> None:
    _, _, state = trained
    out = KMeansPredictor(state.centers).predict({"features": np.zeros((0, 64), np.float32)})
    assert out["closest_cluster"].shape == (0,) and out["distance_to_cluster"].shape == (0,)


def test_load_rejects_missing_or_mismatched_payload(trained: tuple, tmp_path: Path) -> None:
    _, hp, state = trained
    with pytest.raises(ArtifactError, match="Cannot read"):
        KMeans.load(tmp_path, hp)
    KMeans.save(KMeansState(state.centers[:3]), tmp_path)
    with pytest.raises(ArtifactError, match="k=8"):
        KMeans.load(tmp_path, hp)
    np.save(tmp_path / "centers.npy", np.array(["a", "b"]))
    with pytest.raises(ArtifactError, match="2-D float"):
        KMeans.load(tmp_path, hp)
    with pytest.raises(ArtifactError, match="expected KMeansState"):
        KMeans.save({"centers": state.centers}, tmp_path)
