"""Factorization Machines inference and payload: scores, sparse rows, save/load, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from sagespark.algorithms.factorization_machines import FactorizationMachines, FMPredictor, FMState
from sagespark.errors import ArtifactError, DataFormatError


def _state(predictor_type: str = "regressor", dim: int = 5, k: int = 3) -> FMState:
    rng = np.random.default_rng(0)
    return FMState(predictor_type, 0.7, rng.normal(size=dim).astype(np.float32),
                   rng.normal(size=(dim, k)).astype(np.float32))


def _brute_force(state: FMState, x: np.ndarray) -> np.ndarray:
    w, v = state.linear.astype(np.float64), state.factors.astype(np.float64)
    out = state.bias + x @ w
    for i in range(x.shape[1]):
        for j in range(i + 1, x.shape[1]):
            out = out + (v[i] @ v[j]) * x[:, i] * x[:, j]
    return out


def test_regressor_score_is_the_fm_equation_for_dense_and_sparse_rows() -> None:
    state = _state()
    x = np.random.default_rng(1).normal(size=(6, 5)).astype(np.float32)
    x[x < 0] = 0.0
    predictor = FMPredictor(state)
    expected = _brute_force(state, x.astype(np.float64))
    np.testing.assert_allclose(predictor.predict({"features": x})["score"], expected, rtol=1e-5)
    sparse = sp.csr_matrix(x)
    np.testing.assert_allclose(predictor.predict({"features": sparse})["score"], expected, rtol=1e-5)


def test_regressor_answers_with_the_score_alone_as_sagemaker_does() -> None:
    out = FMPredictor(_state()).predict({"features": np.ones((3, 5), dtype=np.float32)})
    assert list(out) == ["score"]
    hp = FactorizationMachines.hyperparameters.from_dict({"num_factors": 3, "predictor_type": "regressor"})
    assert [f.name for f in FactorizationMachines.output_fields(hp)] == ["score"]
    hp = hp.replace(predictor_type="binary_classifier")
    assert [f.name for f in FactorizationMachines.output_fields(hp)] == ["score", "predicted_label"]


def test_classifier_score_is_a_probability_and_label_thresholds_at_one_half() -> None:
    state = _state("binary_classifier")
    x = np.random.default_rng(2).normal(size=(50, 5)).astype(np.float32)
    out = FMPredictor(state).predict({"features": x})
    np.testing.assert_allclose(out["score"], 1 / (1 + np.exp(-_brute_force(state, x.astype(np.float64)))),
                               rtol=1e-5)
    np.testing.assert_array_equal(out["predicted_label"], (out["score"] >= 0.5).astype(np.float64))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    state = _state("binary_classifier")
    FactorizationMachines.save(state, tmp_path)
    hp = FactorizationMachines.hyperparameters.from_dict(
        {"num_factors": 3, "predictor_type": "binary_classifier", "feature_dim": 5})
    loaded = FactorizationMachines.load(tmp_path, hp)
    x = np.eye(5, dtype=np.float32)
    assert loaded.feature_dim == 5
    np.testing.assert_array_equal(loaded.predict({"features": x})["score"],
                                  FMPredictor(state).predict({"features": x})["score"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["factors.npy", "fm.json", "linear.npy"]


def test_load_rejects_a_payload_that_disagrees_with_the_hyperparameters(tmp_path: Path) -> None:
    FactorizationMachines.save(_state(), tmp_path)
    hp = FactorizationMachines.hyperparameters.from_dict({"num_factors": 4, "predictor_type": "regressor"})
    with pytest.raises(ArtifactError, match="num_factors"):
        FactorizationMachines.load(tmp_path, hp)
    meta = json.loads((tmp_path / "fm.json").read_text())
    (tmp_path / "fm.json").write_text(json.dumps({**meta, "feature_dim": 9}))
    with pytest.raises(ArtifactError, match="feature_dim=9"):
        FactorizationMachines.load(tmp_path, FactorizationMachines.hyperparameters.from_dict(
            {"num_factors": 3, "predictor_type": "regressor"}))
    (tmp_path / "linear.npy").unlink()
    with pytest.raises(ArtifactError, match="Cannot read"):
        FactorizationMachines.load(tmp_path, hp)


def test_wrong_width_and_missing_features_are_data_format_errors() -> None:
    predictor = FMPredictor(_state())
    with pytest.raises(DataFormatError, match="expects feature_dim=5"):
        predictor.predict({"features": np.ones((2, 4), np.float32)})
    with pytest.raises(DataFormatError, match="'features'"):
        predictor.predict({})
