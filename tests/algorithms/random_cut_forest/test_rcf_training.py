"""Random Cut Forest training: uniform samples across shards, the forest, and the test metrics."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulated_world import ThreadWorld, run_ranks  # noqa: E402

from sagespark.algorithms import ChannelData, get_algorithm  # noqa: E402
from sagespark.algorithms.random_cut_forest import RandomCutForestPredictor  # noqa: E402
from sagespark.algorithms.random_cut_forest.sampling import (  # noqa: E402
    assemble_samples,
    draw_local_samples,
    plan_sample_counts,
)
from sagespark.algorithms.random_cut_forest.train import classification_metrics  # noqa: E402
from sagespark.distributed.context import LocalContext  # noqa: E402
from sagespark.errors import DataFormatError  # noqa: E402

RCF = get_algorithm("randomcutforest")


def test_samples_are_uniform_over_the_whole_data_set_across_uneven_shards() -> None:
    shards = [np.arange(0, 50), np.arange(50, 450), np.arange(450, 600)]   # 50, 400 and 150 rows
    trees, size = 3000, 30
    counts = plan_sample_counts(np.array([len(s) for s in shards]), num_trees=trees, sample_size=size,
                                rng=np.random.default_rng(0))
    assert np.all(counts.sum(axis=1) == size)
    pieces = [draw_local_samples(s[:, None].astype(np.float32), counts[:, r], np.random.default_rng(r + 1),
                                 dim=1) for r, s in enumerate(shards)]
    samples = assemble_samples(pieces, counts)
    assert samples.shape == (trees, size, 1)
    ids = samples[:, :, 0].astype(int)
    assert all(len(set(tree)) == size for tree in ids[:50])             # without replacement
    hits = np.bincount(ids.ravel(), minlength=600)
    expected = trees * size / 600                                        # 150 per row
    # Each shard's rows are picked at the same rate, whatever the shard's size.
    for s in shards:
        assert abs(hits[s].mean() - expected) < 0.05 * expected
    # Per-row counts are binomial(3000, 0.05): sd ≈ 12; no row is far off.
    assert np.abs(hits - expected).max() < 6 * np.sqrt(expected)


def test_small_data_sets_give_every_tree_all_rows() -> None:
    counts = plan_sample_counts(np.array([3, 0, 4]), num_trees=5, sample_size=256,
                                rng=np.random.default_rng(0))
    assert counts.tolist() == [[3, 0, 4]] * 5


def test_distributed_training_builds_the_forest_on_every_rank() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(900, 4)).astype(np.float32)
    shards = [ChannelData(x[:100]), ChannelData(x[100:100]), ChannelData(x[100:])]   # one rank is empty
    world = ThreadWorld(3)
    result = run_ranks(RCF, shards, {"num_trees": 50, "num_samples_per_tree": 64}, world=world)
    forest = result.state
    assert forest.num_trees == 50 and forest.feature_dim == 4
    assert np.all(forest.mass[forest.roots] == 64)
    forest.check("distributed")
    assert any("built 50 trees" in line for line in world.logs[0])
    # The trees were built from training rows: every leaf is one of them.
    leaves = forest.lower[forest.feature < 0]
    rows = {tuple(r) for r in x.tolist()}
    assert all(tuple(leaf) in rows for leaf in leaves.tolist())


def test_test_channel_metrics_follow_the_three_sigma_rule() -> None:
    rng = np.random.default_rng(2)
    train = rng.normal(size=(1000, 3)).astype(np.float32)
    test = rng.normal(size=(400, 3)).astype(np.float32)
    label = np.zeros(400)
    test[:8] += 9.0
    label[:8] = 1.0
    test[8:10] += 2.5   # mild, unlabelled excursions the rule may or may not flag
    hp = RCF.infer_hyperparameters(RCF.hyperparameters.from_dict({"num_trees": 60}), ChannelData(train))
    shards = [
        {"train": ChannelData(train[:500]), "test": ChannelData(test[:150], label[:150])},
        {"train": ChannelData(train[500:]), "test": ChannelData(test[150:], label[150:])},
    ]
    result = run_ranks(RCF, shards, hp)
    scores = RandomCutForestPredictor(result.state).predict({"features": test})["score"]
    flagged = scores > scores.mean() + 3 * scores.std()
    truth = label == 1
    tp = float(np.sum(flagged & truth))
    fp = float(np.sum(flagged & ~truth))
    fn = float(np.sum(~flagged & truth))
    tn = float(np.sum(~flagged & ~truth))
    expected = classification_metrics(tp, fp, fn, tn, wanted=["accuracy", "precision_recall_fscore"])
    assert result.metrics.keys() == {"test:accuracy", "test:precision", "test:recall", "test:f1"}
    for name, value in expected.items():
        assert result.metrics[name] == pytest.approx(value)
    assert result.metrics["test:recall"] == 1.0 and result.metrics["test:f1"] > 0.7


def test_eval_metrics_selects_what_is_reported_and_unlabelled_tests_report_nothing() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    hp = RCF.infer_hyperparameters(
        RCF.hyperparameters.from_dict({"num_trees": 50, "eval_metrics": ["accuracy"]}), ChannelData(x))
    labelled = RCF.train(LocalContext(), {"train": ChannelData(x), "test": ChannelData(x, np.zeros(300))}, hp)
    assert set(labelled.metrics) == {"test:accuracy"}
    unlabelled = RCF.train(LocalContext(), {"train": ChannelData(x), "test": ChannelData(x)}, hp)
    assert unlabelled.metrics == {}


def test_bad_input_raises_clear_errors() -> None:
    x = np.random.default_rng(4).normal(size=(100, 3)).astype(np.float32)
    hp = RCF.infer_hyperparameters(RCF.hyperparameters.from_dict({"num_trees": 50}), ChannelData(x))
    bad = x.copy()
    bad[17, 2] = np.inf
    with pytest.raises(DataFormatError, match="row 17"):
        RCF.train(LocalContext(), {"train": ChannelData(bad)}, hp)
    labels = np.zeros(100)
    labels[42] = 2.0
    with pytest.raises(DataFormatError, match="row 42"):
        RCF.train(LocalContext(), {"train": ChannelData(x), "test": ChannelData(x, labels)}, hp)
    with pytest.raises(DataFormatError, match="feature_dim is 5"):
        RCF.train(LocalContext(), {"train": ChannelData(x)}, hp.replace(feature_dim=5))
    with pytest.raises(DataFormatError, match="no rows"):
        RCF.train(LocalContext(), {"train": ChannelData(x[:0])}, hp)
