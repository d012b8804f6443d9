"""IP Insights building blocks: IPv4 parsing, entity hashing, negative sampling, RowAdam, AUC."""

from __future__ import annotations

import ipaddress

import numpy as np
import pyarrow as pa
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sagespark.algorithms.ipinsights.encoding import format_ipv4, hash_entities, octets, parse_ipv4
from sagespark.algorithms.ipinsights.evaluation import roc_auc
from sagespark.algorithms.ipinsights.optim import RowAdam
from sagespark.algorithms.ipinsights.sampling import with_negatives
from sagespark.errors import DataFormatError


def test_parse_ipv4_agrees_with_the_ipaddress_module() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.integers(0, 1 << 32, 5000), [0, 1, 255, 256, (1 << 32) - 1]])
    text = [str(ipaddress.IPv4Address(int(v))) for v in values]
    assert parse_ipv4(np.array(text, dtype=object)).tolist() == values.tolist()
    assert parse_ipv4(pa.array(text)).tolist() == values.tolist()  # Arrow input, no conversion
    assert format_ipv4(values).tolist() == text
    assert octets(np.array([0x0A141E28])).tolist() == [[10, 20, 30, 40]]


@pytest.mark.parametrize(
    "bad",
    ["1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.999", "01.2.3.4", "1..2.3", "a.b.c.d", " 1.2.3.4",
     "1.2.3.4 ", "", "::1", "1.2.3.-4", "１.2.3.4"],
)
def test_parse_ipv4_rejects_invalid_strings_naming_the_row(bad: str) -> None:
    with pytest.raises(ValueError):  # the ipaddress module agrees each one is invalid
        ipaddress.IPv4Address(bad)
    values = np.array(["10.0.0.1", "10.0.0.2", bad], dtype=object)
    with pytest.raises(DataFormatError, match=r"Column 'ip', row 7: .* is not an IPv4 address"):
        parse_ipv4(values, first_row=5)


def test_parse_ipv4_rejects_nulls_and_non_strings() -> None:
    with pytest.raises(DataFormatError, match="row 1 is null"):
        parse_ipv4(np.array(["1.2.3.4", None], dtype=object))
    with pytest.raises(DataFormatError, match="must hold strings"):
        parse_ipv4(pa.array([1, 2]))


def test_entity_hash_is_stable_in_range_and_well_spread() -> None:
    # Pinned values: a saved model's entity rows depend on them, so they must never change.
    assert hash_entities(["alice", "bob", "", "ü"], 1 << 40).tolist() == hash_entities(
        np.array(["alice", "bob", "", "ü"], dtype=object), 1 << 40).tolist()
    assert hash_entities(["alice", "bob", ""], 1_000_003).tolist() == [
        int(v) for v in hash_entities(pa.array(["alice", "bob", ""]), 1_000_003)]
    pinned = hash_entities(["user-1", "user-2", ""], 1 << 62).tolist()
    assert pinned == [52451032309049658, 2956643649189220111, 3445288215246350630]
    names = np.array([f"account-{i}" for i in range(200_000)], dtype=object)
    buckets = hash_entities(names, 400_000)
    assert buckets.min() >= 0 and buckets.max() < 400_000
    # Uniform hashing of n keys into 2n buckets fills 2n(1 - e^-1/2) of them on average.
    expected = 400_000 * (1 - np.exp(-0.5))
    assert abs(len(np.unique(buckets)) - expected) < 0.01 * expected
    # Strings that differ only by order or by a shifted byte do not collide.
    assert len(set(hash_entities(["ab", "ba", "a", "b", "aa", "bb"], 1 << 60).tolist())) == 6


def test_with_negatives_pairs_entities_with_random_and_other_rows_ips() -> None:
    g = torch.Generator().manual_seed(0)
    entities = torch.arange(100, dtype=torch.int64)
    ips = torch.arange(1000, 1100, dtype=torch.int64)
    ent, ip, y = with_negatives(entities, ips, random_rate=2, shuffled_rate=3, generator=g)
    assert ent.shape == ip.shape == y.shape == (600,)
    assert y[:100].eq(1).all() and y[100:].eq(0).all()
    assert ent.tolist() == entities.repeat(6).tolist()
    random_part, shuffled_part = ip[100:300], ip[300:]
    assert random_part.min() >= 0 and random_part.max() < (1 << 32)
    assert not (random_part.reshape(2, 100) == ips).all(dim=1).any()
    # A shuffled negative is the IP of another row of the batch, never the row's own.
    assert set(shuffled_part.tolist()) <= set(ips.tolist())
    assert not (shuffled_part.reshape(3, 100) == ips).any()
    _, _, y_one = with_negatives(entities[:1], ips[:1], random_rate=0, shuffled_rate=5, generator=g)
    assert y_one.tolist() == [1.0]  # a batch of one pair has no other row to shuffle in


def test_row_adam_matches_torch_adam_on_the_rows_it_touches() -> None:
    torch.manual_seed(0)
    start = torch.randn(6, 3)
    table = start.clone()
    reference = torch.nn.Parameter(start[[1, 4]].clone())
    ours = RowAdam(table, lr=0.05, weight_decay=0.01)
    theirs = torch.optim.Adam([reference], lr=0.05, weight_decay=0.01)
    for _ in range(5):
        grad = torch.randn(2, 3)
        ours.step(torch.tensor([1, 4]), grad)
        reference.grad = grad.clone()
        theirs.step()
    torch.testing.assert_close(table[[1, 4]], reference.detach())
    torch.testing.assert_close(table[[0, 2, 3, 5]], start[[0, 2, 3, 5]])  # untouched rows stay


def test_roc_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 5, 400).astype(np.float64)  # many ties
    labels = (rng.random(400) < 0.3).astype(np.float64)
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert np.isnan(roc_auc(scores, np.ones(400)))
