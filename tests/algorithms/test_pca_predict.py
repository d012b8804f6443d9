"""PCA projection and the saved payload."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA as SklearnPCA

from sagespark.algorithms import ChannelData
from sagespark.algorithms.pca import PCA, PCAPredictor, PCAState
from sagespark.distributed.context import LocalContext
from sagespark.errors import ArtifactError, DataFormatError


def _train(x: np.ndarray, **values: object) -> tuple[object, PCAState]:
    hp = PCA.infer_hyperparameters(PCA.hyperparameters.from_dict({"num_components": 6, **values}),
                                   ChannelData(x))
    return hp, PCA.train(LocalContext(), {"train": ChannelData(x)}, hp).state


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data.astype(np.float32)


def test_projection_matches_sklearn_transform(digits: np.ndarray) -> None:
    _, state = _train(digits)
    out = PCAPredictor(state.mean, state.components, state.subtract_mean).predict({"features": digits})
    assert list(out) == ["projection"]
    assert out["projection"].dtype == np.float64 and out["projection"].shape == (digits.shape[0], 6)
    reference = SklearnPCA(n_components=6, svd_solver="full").fit(digits.astype(np.float64))
    expected = reference.transform(digits.astype(np.float64))
    # Components may differ in sign only; align each column before comparing.
    signs = np.sign(np.sum(state.components * reference.components_, axis=1))
    np.testing.assert_allclose(out["projection"] * signs, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("subtract_mean", [True, False])
def test_sparse_request_equals_dense(digits: np.ndarray, subtract_mean: bool) -> None:
    _, state = _train(digits, subtract_mean=subtract_mean)
    predictor = PCAPredictor(state.mean, state.components, state.subtract_mean)
    dense = predictor.predict({"features": digits[:300]})["projection"]
    sparse = predictor.predict({"features": sp.csr_matrix(digits[:300])})["projection"]
    np.testing.assert_allclose(sparse, dense, rtol=1e-9, atol=1e-9)
    expected = (digits[:300].astype(np.float64) - (state.mean if subtract_mean else 0.0)) @ state.components.T
    np.testing.assert_allclose(dense, expected, rtol=1e-9, atol=1e-9)


def test_save_load_round_trip_gives_identical_predictions(digits: np.ndarray, tmp_path: Path) -> None:
    hp, state = _train(digits, algorithm_mode="randomized")
    PCA.save(state, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["components.npy", "explained_variance.npy", "explained_variance_ratio.npy", "mean.npy",
                     "pca.json", "singular_values.npy"]
    meta = json.loads((tmp_path / "pca.json").read_text())
    assert meta == {"subtract_mean": True, "n_rows": digits.shape[0], "num_components": 6, "feature_dim": 64}
    for name in ("components", "mean", "singular_values", "explained_variance", "explained_variance_ratio"):
        stored = np.load(tmp_path / f"{name}.npy", allow_pickle=False)
        np.testing.assert_array_equal(stored, getattr(state, name))
    loaded = PCA.load(tmp_path, hp)
    assert loaded.feature_dim == 64
    before = PCAPredictor(state.mean, state.components, True).predict({"features": digits})
    np.testing.assert_array_equal(loaded.predict({"features": digits})["projection"], before["projection"])


def test_wrong_feature_dimension_names_expected_and_got(digits: np.ndarray) -> None:
    _, state = _train(digits)
    predictor = PCAPredictor(state.mean, state.components, True)
    with pytest.raises(DataFormatError, match="expected 64, got 63"):
        predictor.predict({"features": digits[:4, :63]})
    with pytest.raises(DataFormatError, match="expected 64, got 65"):
        predictor.predict({"features": sp.csr_matrix((3, 65), dtype=np.float32)})
    with pytest.raises(DataFormatError, match="'features'"):
        predictor.predict({"label": np.zeros(3)})


def test_load_rejects_missing_or_inconsistent_payload(digits: np.ndarray, tmp_path: Path) -> None:
    hp, state = _train(digits)
    with pytest.raises(ArtifactError, match="Cannot read the PCA model"):
        PCA.load(tmp_path, hp)
    PCA.save(state, tmp_path)
    np.save(tmp_path / "mean.npy", np.zeros(10))
    with pytest.raises(ArtifactError, match=r"mean.npy has shape \(10,\); expected \(64,\)"):
        PCA.load(tmp_path, hp)
    PCA.save(state, tmp_path)
    wrong = PCA.hyperparameters.from_dict({"num_components": 5, "feature_dim": 64})
    with pytest.raises(ArtifactError, match="num_components=5"):
        PCA.load(tmp_path, wrong)
