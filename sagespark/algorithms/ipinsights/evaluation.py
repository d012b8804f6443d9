"""``validation:discriminator_auc``: how well the dot product tells true pairs from negative samples.

Each rank scores (a sample of) its validation pairs and as many negatives as training draws (random and
shuffled, at the hyperparameter rates; one random negative per pair when both rates are 0); the scores
and labels of every rank are gathered and the ROC AUC is computed from ranks (the Mann-Whitney U
statistic, ties counted half), the same number on every rank.

Examples
--------
>>> import numpy as np
>>> roc_auc(np.array([0.9, 0.8, 0.1, 0.2]), np.array([1.0, 1.0, 0.0, 0.0]))
1.0
>>> roc_auc(np.array([0.5, 0.5]), np.array([1.0, 0.0]))
0.5
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from scipy.stats import rankdata

from sagespark.algorithms.ipinsights.sampling import with_negatives
from sagespark.distributed.context import TrainContext

__all__ = ["roc_auc", "discriminator_auc", "MAX_VALIDATION_PAIRS_PER_RANK"]

MAX_VALIDATION_PAIRS_PER_RANK = 200_000
"""Larger validation shards are sampled down to this many true pairs (the metric's error is then ~1e-3)."""


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC of ``scores`` for binary ``labels`` (1 = positive); NaN without both classes."""
    positives = labels > 0.5
    n_pos = int(positives.sum())
    n_neg = int(labels.shape[0]) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(scores)
    u = float(ranks[positives].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def discriminator_auc(
    ctx: TrainContext,
    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    entities: torch.Tensor,
    ips: torch.Tensor,
    *,
    random_rate: int,
    shuffled_rate: int,
    seed: int,
    chunk: int = 65_536,
) -> float:
    """The discriminator AUC over every rank's validation pairs (collective: every rank calls it).

    Parameters
    ----------
    ctx : TrainContext
        For the gather.
    score : callable
        ``score(entity_buckets, ip_values) -> dot products`` (no gradients needed).
    entities, ips : torch.Tensor
        This rank's validation pairs (int64), possibly empty.
    random_rate, shuffled_rate : int
        The negative sampling rates.
    seed : int
        Seeds the negatives, so every epoch is scored against the same ones.
    """
    device = entities.device
    generator = torch.Generator(device=device).manual_seed(seed)
    n = int(entities.shape[0])
    if n > MAX_VALIDATION_PAIRS_PER_RANK:
        keep = torch.randperm(n, generator=generator, device=device)[:MAX_VALIDATION_PAIRS_PER_RANK]
        entities, ips = entities[keep], ips[keep]
    if random_rate == 0 and shuffled_rate == 0:
        random_rate = 1
    all_entities, all_ips, labels = with_negatives(
        entities, ips, random_rate=random_rate, shuffled_rate=shuffled_rate, generator=generator
    )
    parts = []
    with torch.no_grad():
        for start in range(0, int(all_entities.shape[0]), chunk):
            stop = start + chunk
            parts.append(score(all_entities[start:stop], all_ips[start:stop]).float().cpu())
    local_scores = torch.cat(parts).numpy() if parts else np.zeros(0, np.float32)
    gathered_scores = ctx.allgather(np.ascontiguousarray(local_scores, dtype=np.float32))
    gathered_labels = ctx.allgather(np.ascontiguousarray(labels.cpu().numpy(), dtype=np.float32))
    return roc_auc(np.concatenate(gathered_scores), np.concatenate(gathered_labels))
