"""k-NN training across ranks, hyperparameter rules, bad input, sparse input and the artifact."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulated_world import run_ranks  # noqa: E402

from sagespark.algorithms import ChannelData  # noqa: E402
from sagespark.algorithms.knn import KNN, KNNHyperparameters, KNNPredictor  # noqa: E402
from sagespark.algorithms.knn.predict import INDEX_FILE, LABELS_FILE  # noqa: E402
from sagespark.distributed.context import LocalContext  # noqa: E402
from sagespark.errors import ArtifactError, DataFormatError, InvalidHyperparameterError  # noqa: E402

BASE = {"k": 3, "predictor_type": "regressor", "sample_size": 1000}


def _train(x: np.ndarray | sp.csr_matrix, y: np.ndarray | None, **values: object) -> KNNPredictor:
    hp = KNN.hyperparameters.from_dict({**BASE, **values})
    data = ChannelData(x, y)
    result = KNN.train(LocalContext(), {"train": data}, KNN.infer_hyperparameters(hp, data))
    return KNNPredictor(result.state)


def _blobs(rows: int = 200, dim: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, dim)).astype(np.float32), rng.integers(0, 3, rows).astype(np.float64)


def test_each_rank_samples_in_proportion_to_its_rows() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 5)).astype(np.float32)
    row_id = np.arange(400, dtype=np.float64)  # the label names the row, so the index tells who sampled
    shards = [ChannelData(x[:300], row_id[:300]), ChannelData(x[300:], row_id[300:]),
              ChannelData(np.zeros((0, 0), np.float32), np.empty(0))]  # an empty partition takes part
    state = run_ranks(KNN, shards, {**BASE, "sample_size": 200}).state
    sampled = state.labels.astype(int)
    assert state.index.ntotal == 200 and len(set(sampled.tolist())) == 200
    assert (sampled < 300).sum() == 150 and (sampled >= 300).sum() == 50
    np.testing.assert_array_equal(state.index.reconstruct_n(0, 200), x[sampled])


@pytest.mark.parametrize("kind", ["sign", "fjlt"])
def test_every_rank_reduces_with_the_same_random_map(kind: str) -> None:
    x, _ = _blobs(300, 20)
    row_id = np.arange(300, dtype=np.float64)
    shards = [ChannelData(x[:100], row_id[:100]), ChannelData(x[100:], row_id[100:])]
    values = {**BASE, "dimension_reduction_type": kind, "dimension_reduction_target": 8}
    state = run_ranks(KNN, shards, values)
    indexed = state.state.index.reconstruct_n(0, 300)
    expected = state.state.embedding.apply(x[state.state.labels.astype(int)])
    np.testing.assert_allclose(indexed, expected, rtol=1e-5, atol=1e-5)


def test_training_is_deterministic_for_a_seed() -> None:
    x, y = _blobs(2000, 8)
    values = {**BASE, "index_type": "faiss.IVFFlat", "sample_size": 1500}
    first = run_ranks(KNN, [ChannelData(x[:900], y[:900]), ChannelData(x[900:], y[900:])], values, seed=5)
    second = run_ranks(KNN, [ChannelData(x[:900], y[:900]), ChannelData(x[900:], y[900:])], values, seed=5)
    queries = x[:100] + 0.1
    a = KNNPredictor(first.state).predict({"features": queries}, verbose=True)
    b = KNNPredictor(second.state).predict({"features": queries}, verbose=True)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_sparse_input_gives_the_same_model_as_dense() -> None:
    x, y = _blobs(150, 12)
    x[x < 0.5] = 0.0
    dense = _train(x, y, dimension_reduction_type="sign", dimension_reduction_target=6)
    sparse = _train(sp.csr_matrix(x), y, dimension_reduction_type="sign", dimension_reduction_target=6)
    queries = x[:40] * 0.9
    got = sparse.predict({"features": sp.csr_matrix(queries)}, verbose=True)
    want = dense.predict({"features": queries}, verbose=True)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, atol=1e-6)


def test_hyperparameters_match_sagemaker() -> None:
    hp = KNNHyperparameters.from_wire({"k": "10", "predictor_type": "regressor", "sample_size": "500",
                                       "dimension_reduction_type": "fjlt", "dimension_reduction_target": "8",
                                       "faiss_index_pq_m": "16"})
    assert (hp["index_type"], hp["index_metric"], hp["mini_batch_size"]) == ("faiss.Flat", "L2", 5000)
    assert hp["faiss_index_ivf_nlists"] == "auto" and hp["faiss_index_pq_m"] == 16
    assert KNNHyperparameters.required_names() == ["feature_dim", "k", "predictor_type", "sample_size"]
    unset = KNNHyperparameters.from_dict({"k": 1, "predictor_type": "classifier", "sample_size": 5})
    assert unset["dimension_reduction_type"] is None and "faiss_index_pq_m" not in unset.to_wire()
    expected = r"'faiss_index_pq_m' parameter of KNN must be an int among \{1, 2, 3, 4, 8, .*96\}. Got 5"
    with pytest.raises(InvalidHyperparameterError, match=expected):
        KNNHyperparameters.from_dict({**BASE, "faiss_index_pq_m": 5})
    with pytest.raises(InvalidHyperparameterError, match="'index_type'"):
        KNNHyperparameters.from_dict({**BASE, "index_type": "faiss.HNSW"})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"dimension_reduction_type": "sign"}, "'dimension_reduction_target' parameter of KNN is required"),
        ({"dimension_reduction_type": "fjlt", "dimension_reduction_target": 6},
         r"'dimension_reduction_target' parameter of KNN must be an int in the range \[1, 5\]"),
        ({"index_type": "faiss.IVFPQ", "index_metric": "COSINE"},
         "'index_metric' parameter of KNN must be 'L2'"),
        ({"k": 201}, r"'k' parameter of KNN must be at most the number of sampled points \(200"),
        ({"k": 20, "sample_size": 10}, r"sampled points \(10: sample_size=10"),
        ({"index_type": "faiss.IVFFlat", "faiss_index_ivf_nlists": 500},
         r"'faiss_index_ivf_nlists' parameter of KNN must be at most the number of sampled points \(200\)"),
    ],
)
def test_inconsistent_hyperparameters_are_named(values: dict[str, object], message: str) -> None:
    x, y = _blobs()
    with pytest.raises(InvalidHyperparameterError, match=message):
        _train(x, y, **values)


def test_bad_training_data_is_named() -> None:
    x, y = _blobs()
    with pytest.raises(DataFormatError, match="no column 'label'"):
        _train(x, None)
    bad_label = y.copy()
    bad_label[17] = np.nan
    with pytest.raises(DataFormatError, match="'label' of channel 'train' holds a NaN .* row 17"):
        _train(x, bad_label)
    bad_x = x.copy()
    bad_x[42, 3] = np.inf
    with pytest.raises(DataFormatError, match="'features' of channel 'train' holds a NaN .* row 42"):
        _train(bad_x, y)
    with pytest.raises(DataFormatError, match="has 6 columns but feature_dim is 4"):
        _train(x, y, feature_dim=4)
    with pytest.raises(DataFormatError, match="Channel 'test' has no column 'label'"):
        hp = KNN.infer_hyperparameters(KNN.hyperparameters.from_dict(BASE), ChannelData(x))
        KNN.train(LocalContext(), {"train": ChannelData(x, y), "test": ChannelData(x, None)}, hp)


def test_bad_prediction_input_is_named() -> None:
    x, y = _blobs()
    predictor = _train(x, y)
    with pytest.raises(DataFormatError, match="has 5 columns but the model expects feature_dim=6"):
        predictor.predict({"features": x[:3, :5]})
    queries = x[:20].copy()
    queries[13, 0] = np.nan
    with pytest.raises(DataFormatError, match="NaN or infinite value in row 13"):
        predictor.predict({"features": queries})
    with pytest.raises(DataFormatError, match="needs the input 'features'"):
        predictor.predict({})


def test_artifact_round_trip_uses_no_pickle(tmp_path: Path) -> None:
    x, y = _blobs(500, 8)
    hp = KNN.hyperparameters.from_dict({**BASE, "index_type": "faiss.IVFFlat", "index_metric": "COSINE",
                                        "dimension_reduction_type": "fjlt", "dimension_reduction_target": 6})
    hp = KNN.infer_hyperparameters(hp, ChannelData(x))
    state = KNN.train(LocalContext(), {"train": ChannelData(x, y)}, hp).state
    KNN.save(state, tmp_path)
    loaded = KNN.load(tmp_path, hp)
    queries = x[:64] + 0.05
    expected = KNNPredictor(state).predict({"features": queries}, verbose=True)
    got = loaded.predict({"features": queries}, verbose=True)
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key])
    for npy in tmp_path.glob("*.npy"):
        np.load(npy, allow_pickle=False)
    assert (tmp_path / INDEX_FILE).is_file()

    with pytest.raises(ArtifactError, match="k=3 \\(hyperparameters: 4\\)"):
        KNN.load(tmp_path, hp.replace(k=4))
    np.save(tmp_path / LABELS_FILE, np.zeros(7), allow_pickle=False)
    with pytest.raises(ArtifactError, match=r"\(7,\) labels for 500 indexed points"):
        KNN.load(tmp_path, hp)
    (tmp_path / INDEX_FILE).write_bytes(b"not a faiss index")
    with pytest.raises(ArtifactError, match="Cannot read the faiss index"):
        KNN.load(tmp_path, hp)


def test_cosine_prediction_leaves_the_callers_rows_untouched() -> None:
    x, y = _blobs(100, 6)
    predictor = _train(x, y, index_metric="COSINE")
    queries = np.ascontiguousarray(x[:10] * 3.0, dtype=np.float32)
    before = queries.copy()
    predictor.predict({"features": queries})
    np.testing.assert_array_equal(queries, before)  # faiss normalises in place; never the caller's array
