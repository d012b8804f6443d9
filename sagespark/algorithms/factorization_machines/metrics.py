"""SageMaker's Factorization Machines metrics, summed across ranks.

Regressor: ``rmse``. Binary classifier: ``binary_classification_accuracy`` and ``binary_f_beta`` (F1)
at threshold 0.5, and ``binary_classification_cross_entropy`` (log loss), as the developer guide
describes the test channel's scoring.

Examples
--------
>>> import numpy as np
>>> from sagespark.distributed.context import LocalContext
>>> evaluate(LocalContext(), "test", "regressor", np.array([1.0, 3.0]), np.array([1.0, 1.0]))
{'test:rmse': 1.4142135623730951}
"""

from __future__ import annotations

import math

import numpy as np

from sagespark.distributed.context import TrainContext

__all__ = ["evaluate", "label_errors"]

_PROB_FLOOR = 1e-12


def _local_sums(predictor_type: str, score: np.ndarray, label: np.ndarray) -> np.ndarray:
    if predictor_type == "regressor":
        diff = score - label
        return np.array([float(diff @ diff), float(len(label))])
    p = np.clip(score, _PROB_FLOOR, 1.0 - _PROB_FLOOR)
    positive = label >= 0.5
    predicted = score >= 0.5
    log_loss = -float(np.log(p[positive]).sum() + np.log1p(-p[~positive]).sum())
    tp = float(np.count_nonzero(predicted & positive))
    fp = float(np.count_nonzero(predicted & ~positive))
    fn = float(np.count_nonzero(~predicted & positive))
    correct = float(np.count_nonzero(predicted == positive))
    return np.array([log_loss, correct, tp, fp, fn, float(len(label))])


def evaluate(ctx: TrainContext, channel: str, predictor_type: str, score: np.ndarray, label: np.ndarray
             ) -> dict[str, float]:
    """The channel's metrics over every rank's rows (``score`` as the predictor outputs it).

    Every rank must call it (it allreduces); a channel with no rows anywhere gives no metrics.
    """
    width = 2 if predictor_type == "regressor" else 6
    local = _local_sums(predictor_type, score, label) if len(label) else np.zeros(width)
    total = ctx.allreduce(local)
    n = total[-1]
    if n <= 0:
        return {}
    if predictor_type == "regressor":
        return {f"{channel}:rmse": math.sqrt(total[0] / n)}
    log_loss, correct, tp, fp, fn = (float(v) for v in total[:5])
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn > 0 else 1.0
    return {
        f"{channel}:binary_classification_accuracy": correct / n,
        f"{channel}:binary_classification_cross_entropy": log_loss / n,
        f"{channel}:binary_f_beta": f1,
    }


def label_errors(predictor_type: str, label: np.ndarray) -> tuple[int, str] | None:
    """The first bad label as ``(row, what was expected)``, or ``None`` when all are valid."""
    finite = np.isfinite(label)
    if predictor_type == "binary_classifier":
        bad = ~(finite & ((label == 0.0) | (label == 1.0)))
        expected = "0 or 1 for predictor_type 'binary_classifier'"
    else:
        bad = ~finite
        expected = "a finite number"
    if not bad.any():
        return None
    return int(np.flatnonzero(bad)[0]), expected
