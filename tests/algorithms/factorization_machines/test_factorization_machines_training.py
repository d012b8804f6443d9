"""Factorization Machines training without Spark: quality, distributed ranks, kernels and data checks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sagespark.algorithms.base import ChannelData
from sagespark.algorithms.factorization_machines import FactorizationMachines
from sagespark.algorithms.factorization_machines.fused import batch_kernel, clear_slots, merge_packets
from sagespark.algorithms.factorization_machines.parameters import FMParameters
from sagespark.algorithms.factorization_machines.predict import FMPredictor
from sagespark.distributed.context import LocalContext
from sagespark.errors import DataFormatError, InvalidHyperparameterError

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from fm_ratings import make_ratings  # noqa: E402
from simulated_world import ThreadWorld, run_ranks  # noqa: E402

TUNED = {"predictor_type": "regressor", "num_factors": 4, "epochs": 20, "mini_batch_size": 500,
         "linear_lr": 0.005, "factors_lr": 0.005, "linear_wd": 3e-5, "factors_wd": 3e-5, "bias_wd": 0.0}


def _hp(**values: object):  # type: ignore[no-untyped-def]
    return FactorizationMachines.hyperparameters.from_dict(values)


def _train(x, y, test=None, **values: object):  # type: ignore[no-untyped-def]
    data = {"train": ChannelData(x, y)}
    if test is not None:
        data["test"] = ChannelData(*test)
    hp = FactorizationMachines.infer_hyperparameters(_hp(**values), data["train"])
    return FactorizationMachines.train(LocalContext(), data, hp)


def test_two_ranks_reach_the_noise_floor_on_low_rank_ratings() -> None:
    # 1,000 users × 500 items, rank-4 preferences plus N(0, 0.8²) noise: RMSE 0.8 is the best possible.
    r = make_ratings(seed=3, train=200_000, test=10_000, noise=0.8)
    half = r.train_x.shape[0] // 2
    shards = [
        {"train": ChannelData(r.train_x[:half], r.train_y[:half]),
         "test": ChannelData(r.test_x[:5000], r.test_y[:5000])},
        {"train": ChannelData(r.train_x[half:], r.train_y[half:]),
         "test": ChannelData(r.test_x[5000:], r.test_y[5000:])},
    ]
    world = ThreadWorld(2)
    result = run_ranks(FactorizationMachines, shards, TUNED, world=world)
    assert result.metrics["test:rmse"] <= 1.05 * r.noise
    # The metric is computed over both ranks' test rows, and the predictor agrees with it.
    score = FMPredictor(result.state).scores(r.test_x)
    assert np.sqrt(np.mean((score - r.test_y) ** 2)) == pytest.approx(result.metrics["test:rmse"], rel=1e-6)
    # Both ranks logged the same per-epoch training loss (one synchronous model), decreasing overall.
    losses = [[v for name, v, _ in world.metrics[rank] if name == "train:rmse"] for rank in range(2)]
    assert losses[0] == losses[1] and len(losses[0]) == TUNED["epochs"]
    assert losses[0][-1] < 0.7 * losses[0][0]


@pytest.mark.parametrize("predictor_type", ["regressor", "binary_classifier"])
def test_a_shared_table_trains_the_same_model_as_replicas(predictor_type: str) -> None:
    # Three ranks, uneven shards, features owned round-robin: one shared table (each rank updating its
    # own rows, the compiled loops running concurrently) ends bit-identical to private replicas.
    r = make_ratings(seed=5, train=9_000, test=10, noise=0.8)
    y = r.train_y if predictor_type == "regressor" else (r.train_y > np.median(r.train_y)).astype(float)
    cuts = [0, 4000, 7500, 9000]
    shards = [ChannelData(r.train_x[a:b], y[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    hp = {**TUNED, "predictor_type": predictor_type, "epochs": 3, "mini_batch_size": 200}
    shared_world, replica_world = ThreadWorld(3), ThreadWorld(3, share_memory=False)
    shared = run_ranks(FactorizationMachines, shards, hp, world=shared_world)
    replicas = run_ranks(FactorizationMachines, shards, hp, world=replica_world)
    assert "one table in shared memory" in " ".join(shared_world.logs[1])
    assert "a replica per rank" in " ".join(replica_world.logs[1])
    np.testing.assert_array_equal(shared.state.factors, replicas.state.factors)
    np.testing.assert_array_equal(shared.state.linear, replicas.state.linear)
    assert shared.state.bias == replicas.state.bias
    assert shared.metrics == replicas.metrics


def test_state_rows_start_on_cache_lines() -> None:
    # Each feature's parameters and moments fill whole 64-byte lines, so an update touches two lines.
    hp = _hp(predictor_type="regressor", num_factors=8, feature_dim=1000)
    for seed in range(4):  # numpy's own allocations land on varying offsets
        state = FMParameters.initial(hp, feature_dim=1000, seed=seed).state
        assert state.ctypes.data % 64 == 0 and state.strides[0] % 64 == 0 and state.flags.c_contiguous


def test_default_hyperparameters_learn_the_mean_in_one_epoch() -> None:
    r = make_ratings(seed=1, train=50_000, test=5_000, noise=0.8)
    result = _train(r.train_x, r.train_y, (r.test_x, r.test_y), predictor_type="regressor", num_factors=4)
    constant = np.sqrt(np.mean((r.test_y - r.train_y.mean()) ** 2))
    assert result.metrics["test:rmse"] <= 1.01 * constant
    assert abs(result.state.bias - r.train_y.mean()) < 0.3


def test_binary_classifier_learns_an_interaction_no_linear_model_can() -> None:
    # XOR of two one-hot fields: label 1 when (a < 5) == (b < 5); every linear score is useless here.
    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 10, 6000), rng.integers(0, 10, 6000)
    y = ((a < 5) == (b < 5)).astype(np.float64)
    rows = np.repeat(np.arange(6000), 2)
    cols = np.stack([a, 10 + b], 1).ravel()
    x = sp.csr_matrix((np.ones(12000, np.float32), (rows, cols)), shape=(6000, 20))
    result = _train(x[:5000], y[:5000], (x[5000:], y[5000:]), predictor_type="binary_classifier",
                    num_factors=2, epochs=30, mini_batch_size=100, factors_lr=0.02, linear_lr=0.02,
                    factors_init_sigma=0.1)
    assert result.metrics["test:binary_classification_accuracy"] >= 0.98
    assert result.metrics["test:binary_f_beta"] >= 0.98
    assert result.metrics["test:binary_classification_cross_entropy"] < 0.1
    out = FMPredictor(result.state).predict({"features": x[5000:]})
    assert set(np.unique(out["predicted_label"])) <= {0.0, 1.0}
    np.testing.assert_array_equal(out["predicted_label"], (out["score"] >= 0.5).astype(float))
    assert ((out["score"] >= 0) & (out["score"] <= 1)).all()


def test_dense_and_sparse_input_train_the_same_model() -> None:
    rng = np.random.default_rng(5)
    dense = rng.normal(size=(300, 6)).astype(np.float32)
    dense[rng.random(dense.shape) < 0.5] = 0.0
    y = dense @ rng.normal(size=6) + dense[:, 0] * dense[:, 1]
    params = dict(predictor_type="regressor", num_factors=3, epochs=3, mini_batch_size=32, factors_lr=0.01)
    a = _train(dense, y, **params).state
    b = _train(sp.csr_matrix(dense), y, **params).state
    np.testing.assert_array_equal(a.factors, b.factors)
    np.testing.assert_array_equal(a.linear, b.linear)


def test_uneven_shards_and_an_empty_rank_train_together() -> None:
    rng = np.random.default_rng(6)
    x = sp.random(500, 50, density=0.05, random_state=7, dtype=np.float32, format="csr")
    y = rng.normal(size=500)
    shards = [ChannelData(x[:450], y[:450]), ChannelData(x[450:], y[450:]),
              ChannelData(sp.csr_matrix((0, 0), dtype=np.float32), np.zeros(0))]
    result = run_ranks(FactorizationMachines, shards, {"predictor_type": "regressor", "num_factors": 2,
                                                        "mini_batch_size": 64, "epochs": 2})
    assert result.state.factors.shape == (50, 2) and np.isfinite(result.metrics["train:rmse"])


@pytest.mark.parametrize("predictor_type", ["regressor", "binary_classifier"])
def test_compiled_gradients_match_autograd(predictor_type: str) -> None:
    rng = np.random.default_rng(0)
    x = sp.random(20, 7, density=0.4, random_state=1, dtype=np.float32, format="csr")
    x.sort_indices()
    y = (rng.random(20) < 0.5).astype(np.float64)
    table = rng.normal(size=(7, 4)).astype(np.float32)
    w0 = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    t = torch.tensor(table, dtype=torch.float64, requires_grad=True)
    dense = torch.tensor(x.toarray(), dtype=torch.float64)
    w, v = t[:, 0], t[:, 1:]
    pred = w0 + dense @ w + 0.5 * ((dense @ v) ** 2 - (dense**2) @ (v**2)).sum(1)
    label = torch.tensor(y)
    if predictor_type == "regressor":
        loss = ((pred - label) ** 2).sum()  # the packet's loss is Σ(ŷ − y)², for RMSE
        (0.5 * loss).backward()             # and its gradient that of ½(ŷ − y)²
    else:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(pred, label, reduction="sum")
        loss.backward()
    assert w0.grad is not None and t.grad is not None
    slots = np.full(7, -1, dtype=np.int32)
    packet = np.zeros((1 + x.nnz, 5), dtype=np.float32)
    # Two half-batches as two ranks' packets: the merge sums them per feature.
    batch_packet = batch_kernel(4)
    u1 = batch_packet(x.indptr, x.indices, x.data, y, 0, 12, 0.3, table, predictor_type == "regressor",
                      slots, packet, packet.view(np.int32))
    first = packet[:1 + u1].copy()
    u2 = batch_packet(x.indptr, x.indices, x.data, y, 12, 20, 0.3, table, predictor_type == "regressor",
                      slots, packet, packet.view(np.int32))
    assert (slots == -1).all()  # the scratch map is clean again after every call
    ids, sums, header = np.zeros(x.nnz, np.int64), np.zeros((x.nnz, 4)), np.zeros(3)
    n = 0
    for part in (first, packet[:1 + u2]):
        n = merge_packets(part, part.view(np.int32), slots, ids, sums, header, 0, 1, n)
    clear_slots(slots, ids, n)
    assert (slots == -1).all()
    full = np.zeros((7, 4))
    full[ids[:n]] = sums[:n]
    np.testing.assert_allclose(header, [w0.grad.item(), 20, loss.item()], rtol=1e-5)
    np.testing.assert_allclose(full, t.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert sorted(ids[:n].tolist()) == sorted(set(x.indices.tolist()))


def test_constant_initialisation_and_zero_learning_rate_keep_the_initial_model() -> None:
    x = np.eye(4, dtype=np.float32)
    result = _train(x, np.arange(4.0), predictor_type="regressor", num_factors=2, bias_lr=0.0, linear_lr=0.0,
                    factors_lr=0.0, bias_init_method="constant", bias_init_value=2.5,
                    linear_init_method="uniform", linear_init_scale=0.01, factors_init_method="constant",
                    factors_init_value=0.25)
    assert result.state.bias == 2.5
    assert np.all(np.abs(result.state.linear) <= 0.01)
    np.testing.assert_array_equal(result.state.factors, np.full((4, 2), 0.25, np.float32))


def test_gradient_clipping_bounds_the_first_adam_step() -> None:
    # With clipping the first moment is at most clip, so Adam's first step is still ±lr — but with a
    # tiny rescale_grad, the gradient stays far below eps=1 and the step becomes tiny.
    x, y = np.eye(3, dtype=np.float32), np.full(3, 100.0)
    common = dict(predictor_type="regressor", num_factors=1, mini_batch_size=3, bias_lr=0.0,
                  linear_lr=0.1, linear_wd=0.0, linear_init_method="constant", linear_init_value=0.0)
    plain = _train(x, y, **common).state.linear
    np.testing.assert_allclose(plain, 0.1, rtol=1e-4)
    damped = _train(x, y, eps=1.0, clip_gradient=1e-3, **common).state.linear
    assert np.all(damped < 1e-3)


def test_uniform_initialisation_needs_its_scale() -> None:
    with pytest.raises(InvalidHyperparameterError, match="'factors_init_scale' parameter .* required"):
        _train(np.eye(2, dtype=np.float32), np.ones(2), predictor_type="regressor", num_factors=2,
               factors_init_method="uniform")


def test_binary_labels_must_be_zero_or_one() -> None:
    with pytest.raises(DataFormatError, match=r"Column 'label' .* row 2 .* expected 0 or 1"):
        _train(np.eye(3, dtype=np.float32), np.array([0.0, 1.0, 2.0]), predictor_type="binary_classifier",
               num_factors=2)


def test_non_finite_features_are_named_by_row() -> None:
    x = np.ones((4, 2), dtype=np.float32)
    x[3, 1] = np.nan
    with pytest.raises(DataFormatError, match="row 3"):
        _train(x, np.ones(4), predictor_type="regressor", num_factors=2)


def test_missing_labels_are_an_error() -> None:
    with pytest.raises(DataFormatError, match="no 'label' column"):
        _train(np.eye(2, dtype=np.float32), None, predictor_type="regressor", num_factors=2)
