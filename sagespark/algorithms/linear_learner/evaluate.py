"""Metrics of Linear Learner, accumulated per rank and summed over ranks, and the binary threshold choice.

Binary scores go into per-model histograms of the raw score (:data:`BINS` bins over
``[-SCORE_RANGE, SCORE_RANGE]``), split by true class. Summed over ranks, the histograms give every
threshold's confusion counts at once, so accuracy, F-beta, precision at a target recall, recall at a target
precision and the ROC AUC of every parallel model come from one allreduce of fixed size, however many rows
there are. Multiclass and regression metrics are plain sums.

Examples
--------
>>> import numpy as np
>>> from sagespark.distributed.context import LocalContext
>>> acc = Accumulator("binary_classifier", models=1, classes=1, loss="logistic", full=True)
>>> acc.add(np.array([[[-3.0]], [[2.0]], [[4.0]]]), np.array([0.0, 1.0, 1.0]))
>>> stats = acc.reduce(LocalContext())
>>> float(stats.auc()[0]), int(stats.choose("accuracy", 1.0, 0.8, 0.8)[1][0]) > BINS // 2 - 400
(1.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from sagespark.algorithms.linear_learner.losses import LossParams, loss_and_grad
from sagespark.distributed.context import TrainContext

__all__ = ["Accumulator", "Stats", "BINS", "SCORE_RANGE", "edge", "f_score"]

BINS = 8000
SCORE_RANGE = 20.0
"""Raw scores (logits or margins) are binned on [-20, 20] in steps of 0.005; beyond it they are clipped."""


def edge(k: np.ndarray | int) -> np.ndarray:
    """Raw-score threshold of bin edge ``k``: rows in bins ``>= k`` are predicted positive.

    Edge 0 predicts every row positive (``-inf``), edge :data:`BINS` none (``+inf``).
    """
    k_arr = np.asarray(k, dtype=np.float64)
    out = -SCORE_RANGE + k_arr * (2.0 * SCORE_RANGE / BINS)
    out = np.where(k_arr <= 0, -np.inf, out)
    return np.where(k_arr >= BINS, np.inf, out)


def f_score(precision: np.ndarray, recall: np.ndarray, beta: float) -> np.ndarray:
    b2 = beta * beta
    denom = b2 * precision + recall
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (1 + b2) * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)


class Stats:
    """Summed statistics of one channel: per-model loss, and the histograms or sums of the task."""

    def __init__(
        self, kind: str, models: int, classes: int, full: bool, packed: np.ndarray, top_k: int
    ) -> None:
        self.kind, self.models, self.classes, self.full, self.top_k = kind, models, classes, full, top_k
        self.count = float(packed[0])
        m = models
        self.loss_sum = packed[1 : 1 + m]
        rest = packed[1 + m :]
        self.decided: np.ndarray | None = None
        if kind == "binary_classifier":
            hist = rest[: 2 * m * BINS].reshape(2, m, BINS)
            self.neg, self.pos = hist[0], hist[1]
            if len(rest) > 2 * m * BINS:
                self.decided = rest[2 * m * BINS :]  # exact (true positives, false positives) of model 0
        elif kind == "regressor":
            self.sse, self.sae = rest[:m], rest[m : 2 * m]
        elif full:
            self.correct, self.top_correct, self.dcg = rest[0], rest[1], rest[2]
            self.tp, self.predicted, self.actual = rest[3:].reshape(3, classes)

    def mean_loss(self) -> np.ndarray:
        return self.loss_sum / max(self.count, 1.0)

    # -- binary ---------------------------------------------------------------------------
    def _counts(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        """True and false positives at every edge ``k = 0 .. BINS`` (models × (BINS + 1))."""
        zeros = np.zeros((self.models, 1))
        tp = np.concatenate([np.cumsum(self.pos[:, ::-1], axis=1)[:, ::-1], zeros], axis=1)
        fp = np.concatenate([np.cumsum(self.neg[:, ::-1], axis=1)[:, ::-1], zeros], axis=1)
        return tp, fp, float(self.pos[0].sum()), float(self.neg[0].sum())

    def choose(
        self, criterion: str, beta: float, target_recall: float, target_precision: float
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Per model: the criterion's value at its best threshold, that threshold's edge, and whether
        larger values are better. Ties take the middle of the best run of edges, the most robust choice."""
        tp, fp, p, n = self._counts()
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1e-300), 1.0)
        recall = tp / max(p, 1e-300) if p > 0 else np.zeros_like(tp)
        if criterion == "loss_function":
            k = np.full(self.models, BINS // 2)  # the natural threshold: raw score 0
            return self.mean_loss(), k, False
        if criterion == "accuracy":
            value = (tp + (n - fp)) / max(p + n, 1e-300)
        elif criterion == "f_beta":
            value = f_score(precision, recall, beta)
        elif criterion == "precision_at_target_recall":
            value = np.where(recall >= target_recall, precision, -1.0)
        else:  # recall_at_target_precision
            value = np.where((precision >= target_precision) & (tp > 0), recall, -1.0)
            none = (value < 0).all(axis=1)
            # No threshold reaches the target: fall back to the most precise threshold (recall near 0).
            value[none] = np.where(tp[none] > 0, precision[none] - 2.0, -3.0)
        best = value.max(axis=1, keepdims=True)
        hits = value >= best - 1e-12
        k = np.empty(self.models, dtype=np.int64)
        for i in range(self.models):
            idx = np.flatnonzero(hits[i])
            k[i] = idx[len(idx) // 2]
        shown = best[:, 0]
        if criterion == "recall_at_target_precision":
            shown = np.maximum(shown, 0.0)
        return shown, k, True

    def auc(self) -> np.ndarray:
        """ROC AUC per model (pairs within one bin count one half)."""
        p = self.pos.sum(axis=1)
        n = self.neg.sum(axis=1)
        above = np.cumsum(self.pos[:, ::-1], axis=1)[:, ::-1] - self.pos  # positives in higher bins
        pairs = (self.neg * (above + 0.5 * self.pos)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(p * n > 0, pairs / np.maximum(p * n, 1e-300), math.nan)

    def binary_metrics(self, prefix: str, k: int, beta: float) -> dict[str, float]:
        tp_all, fp_all, p, n = self._counts()
        tp, fp = float(tp_all[0, k]), float(fp_all[0, k])
        if self.decided is not None:
            tp, fp = float(self.decided[0]), float(self.decided[1])
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / p if p > 0 else 0.0
        out = {
            f"{prefix}:objective_loss": float(self.mean_loss()[0]),
            f"{prefix}:binary_classification_accuracy": (tp + n - fp) / max(p + n, 1.0),
            f"{prefix}:precision": precision,
            f"{prefix}:recall": recall,
            f"{prefix}:binary_f_beta": float(f_score(np.array(precision), np.array(recall), beta)),
        }
        auc = float(self.auc()[0])
        if math.isfinite(auc):
            out[f"{prefix}:roc_auc_score"] = auc
        return out

    # -- multiclass and regression ---------------------------------------------------------
    def multiclass_metrics(self, prefix: str, beta: float) -> dict[str, float]:
        n = max(self.count, 1.0)
        present = self.actual > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(self.predicted > 0, self.tp / np.maximum(self.predicted, 1e-300), 0.0)
            recall = np.where(present, self.tp / np.maximum(self.actual, 1e-300), 0.0)
        f = f_score(precision, recall, beta)
        mask = present | (self.predicted > 0)
        return {
            f"{prefix}:objective_loss": float(self.mean_loss()[0]),
            f"{prefix}:multiclass_accuracy": float(self.correct) / n,
            f"{prefix}:multiclass_top_k_accuracy": float(self.top_correct) / n,
            f"{prefix}:dcg": float(self.dcg) / n,
            f"{prefix}:macro_precision": float(precision[mask].mean()) if mask.any() else 0.0,
            f"{prefix}:macro_recall": float(recall[mask].mean()) if mask.any() else 0.0,
            f"{prefix}:macro_f_beta": float(f[mask].mean()) if mask.any() else 0.0,
        }

    def regression_metrics(self, prefix: str) -> dict[str, float]:
        n = max(self.count, 1.0)
        mse = float(self.sse[0]) / n
        return {
            f"{prefix}:objective_loss": float(self.mean_loss()[0]),
            f"{prefix}:mse": mse,
            f"{prefix}:rmse": math.sqrt(mse),
            f"{prefix}:absolute_loss": float(self.sae[0]) / n,
        }

    def metrics(self, prefix: str, k: int, beta: float) -> dict[str, float]:
        """SageMaker's metrics for model 0 of these statistics, named ``<prefix>:<metric>``."""
        if self.kind == "binary_classifier":
            return self.binary_metrics(prefix, k, beta)
        if self.kind == "regressor":
            return self.regression_metrics(prefix)
        return self.multiclass_metrics(prefix, beta)


class Accumulator:
    """Adds up one rank's statistics batch by batch; :meth:`reduce` sums them over ranks.

    ``full`` adds the multiclass per-class counts (used for the final model only: they grow with
    ``num_classes``). ``decide`` (binary, one model) maps raw scores to predicted labels exactly as the
    Predictor does, so the reported confusion counts are the model's own, not a histogram's.
    """

    def __init__(
        self,
        kind: str,
        models: int,
        classes: int,
        loss: str,
        *,
        full: bool,
        params: LossParams | None = None,
        top_k: int = 3,
        decide: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        self.decide = decide
        self.decided = np.zeros(2)
        self.kind, self.models, self.classes, self.loss, self.full = kind, models, classes, loss, full
        self.params = params or LossParams()
        self.top_k = top_k
        self.count = 0.0
        self.loss_sum = np.zeros(models)
        if kind == "binary_classifier":
            self.hist = np.zeros((2, models, BINS))
        elif kind == "regressor":
            self.sums = np.zeros(2 * models)
        elif full:
            self.sums = np.zeros(3 + 3 * classes)

    def add(self, scores: np.ndarray | torch.Tensor, label: np.ndarray) -> None:
        """Add a batch: raw scores ``(rows, models, classes)`` (label units for a regressor) and labels."""
        s = torch.as_tensor(scores, dtype=torch.float64)
        y = torch.as_tensor(np.asarray(label, dtype=np.float64))
        loss, _ = loss_and_grad(self.loss, s, y, self.params)
        self.loss_sum += loss.sum(dim=0).numpy()
        self.count += float(len(label))
        raw = s.numpy()
        if self.kind == "binary_classifier":
            r = np.clip(raw[:, :, 0], -SCORE_RANGE, SCORE_RANGE)
            bins = np.minimum(((r + SCORE_RANGE) * (BINS / (2 * SCORE_RANGE))).astype(np.int64), BINS - 1)
            positive = np.asarray(label) > 0.5
            flat = (positive.astype(np.int64)[:, None] * self.models + np.arange(self.models)) * BINS + bins
            self.hist += np.bincount(flat.ravel(), minlength=2 * self.models * BINS).reshape(self.hist.shape)
            if self.decide is not None:
                predicted = self.decide(raw[:, 0, 0])
                self.decided += ((predicted & positive).sum(), (predicted & ~positive).sum())
        elif self.kind == "regressor":
            r = raw[:, :, 0] - np.asarray(label)[:, None]
            self.sums[: self.models] += (r * r).sum(axis=0)
            self.sums[self.models :] += np.abs(r).sum(axis=0)
        elif self.full:
            self._add_multiclass(raw[:, 0, :], np.asarray(label).astype(np.int64))

    def _add_multiclass(self, raw: np.ndarray, y: np.ndarray) -> None:
        c = self.classes
        true_score = raw[np.arange(len(y)), y]
        # Rank of the true class: how many classes score strictly higher (ties favour the true class).
        rank = (raw > true_score[:, None]).sum(axis=1)
        predicted = raw.argmax(axis=1)
        self.sums[0] += float((predicted == y).sum())
        self.sums[1] += float((rank < self.top_k).sum())
        self.sums[2] += float((1.0 / np.log2(rank + 2.0)).sum())
        hit = predicted == y
        self.sums[3 : 3 + c] += np.bincount(y[hit], minlength=c)
        self.sums[3 + c : 3 + 2 * c] += np.bincount(predicted, minlength=c)
        self.sums[3 + 2 * c :] += np.bincount(y, minlength=c)

    def reduce(self, ctx: TrainContext) -> Stats:
        parts = [np.array([self.count]), self.loss_sum]
        if self.kind == "binary_classifier":
            parts.append(self.hist.ravel())
            if self.decide is not None:
                parts.append(self.decided)
        elif self.kind == "regressor" or self.full:
            parts.append(self.sums)
        packed = ctx.allreduce(np.concatenate(parts).astype(np.float64))
        return Stats(self.kind, self.models, self.classes, self.full, packed, self.top_k)
