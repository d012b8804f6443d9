"""Linear Learner training across ranks: statistics pass, parallel SGD epochs, early stopping, selection.

1. Agree on ``feature_dim`` and on dense/sparse input; check the labels of every channel.
2. One cheap pass: normalisation statistics of ``num_point_for_scaler`` rows and the class counts (for
   ``balanced`` weights), summed over ranks.
3. Epochs of mini-batch training of all ``num_models`` models at once (:mod:`.sgd`). After each epoch the
   early-stopping metric is measured: on the validation channel (the selection criterion of a binary
   classifier, the loss otherwise) or, without one, the training loss; the best epoch's weights are kept.
4. The best model is chosen on the validation channel (or the training data) by
   ``binary_classifier_model_selection_criteria``, which also sets a binary classifier's threshold.
5. SageMaker's metrics of the chosen model on the validation and test channels.

Examples
--------
>>> import numpy as np
from sagespark.algorithms.base import ChannelData
>>> from sagespark.algorithms.linear_learner.hyperparameters import LinearLearnerHyperparameters
>>> from sagespark.distributed.context import LocalContext
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(400, 3)).astype(np.float32)
>>> y = (x[:, 0] - x[:, 1] > 0).astype(np.float64)
>>> hp = LinearLearnerHyperparameters.from_dict({"predictor_type": "binary_classifier", "epochs": 5})
>>> result = train_linear_learner(LocalContext(), {"train": ChannelData(x, y)}, hp)
>>> result.metrics["train:binary_classification_accuracy"] > 0.95
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import ChannelData, Matrix, TrainResult
from sagespark.algorithms.linear_learner.batches import compute_scaler
from sagespark.algorithms.linear_learner.evaluate import Accumulator, Stats, edge
from sagespark.algorithms.linear_learner.losses import LossParams
from sagespark.algorithms.linear_learner.predict import LinearLearnerPredictor, raw_scores, to_score
from sagespark.algorithms.linear_learner.settings import Settings, model_grid, resolve
from sagespark.algorithms.linear_learner.sgd import Trainer
from sagespark.algorithms.matrix import as_matrix, check_finite, iter_batches, resolve_feature_dim
from sagespark.algorithms.torch_threads import one_intra_op_thread
from sagespark.distributed.context import TrainContext
from sagespark.errors import DataFormatError
from sagespark.hyperparams import Hyperparameters

__all__ = ["train_linear_learner"]


def _channel(data: Mapping[str, ChannelData], name: str) -> tuple[Matrix | None, np.ndarray | None]:
    channel = data.get(name)
    if channel is None:
        return None, None
    features = (
        None
        if channel.features is None
        else as_matrix(channel.features, where=f"features' of channel '{name}")
    )
    if features is not None and not sp.issparse(features) and features.dtype != np.float32:
        features = np.asarray(features, dtype=np.float32)
    rows = 0 if features is None else int(features.shape[0])
    if rows and channel.label is None:
        raise DataFormatError(
            f"Channel '{name}' has no 'label' column; Linear Learner needs a label for every row."
        )
    label = None if channel.label is None else np.asarray(channel.label, dtype=np.float64).reshape(-1)
    if label is not None and len(label) != rows:
        raise DataFormatError(f"Channel '{name}' has {rows} feature rows but {len(label)} labels.")
    return features, label


def _check_labels(label: np.ndarray | None, s: Settings, channel: str) -> None:
    if label is None or not len(label):
        return
    bad = ~np.isfinite(label)
    expected = "a finite number"
    if s.predictor_type == "binary_classifier":
        bad |= (label != 0.0) & (label != 1.0)
        expected = "0 or 1 for a binary classifier"
    elif s.predictor_type == "multiclass_classifier":
        bad |= (label != np.round(label)) | (label < 0) | (label >= s.classes)
        expected = f"an integer class in [0, {s.classes - 1}] (num_classes={s.classes})"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"Column 'label' of channel '{channel}' must hold {expected}; row {row} of this worker's "
            f"partition holds {label[row]!r}."
        )


def _check_features(features: Matrix | None, channel: str) -> None:
    if features is None:
        return
    for start, part in iter_batches(features, 1 << 16):
        check_finite(part, start, column=f"features' of channel '{channel}")


def _raw_params(s: Settings) -> LossParams:
    return LossParams(s.margin, s.loss_insensitivity, s.quantile, s.huber_delta)


def _evaluate_all(
    ctx: TrainContext,
    trainer: Trainer,
    s: Settings,
    features: Matrix | None,
    label: np.ndarray | None,
    limit: int | None = None,
) -> Stats:
    acc = Accumulator(
        s.predictor_type,
        s.num_models,
        s.classes,
        s.loss,
        full=False,
        params=_raw_params(s),
        top_k=s.accuracy_top_k,
    )
    for raw, y in trainer.scores(features, label, limit):
        acc.add(raw, y)
    return acc.reduce(ctx)


def _selection(stats: Stats, s: Settings) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per-model selection value, threshold edge and direction (larger better?)."""
    if s.predictor_type == "binary_classifier":
        return stats.choose(s.criterion, s.f_beta, s.target_recall, s.target_precision)
    return stats.mean_loss(), np.zeros(s.num_models, dtype=np.int64), False


def _improved(value: float, best: float, higher: bool, tol: float) -> bool:
    if not math.isfinite(best):
        return True
    gain = value - best if higher else best - value
    return gain > tol * max(abs(best), 1e-12)


def _fit(
    ctx: TrainContext,
    trainer: Trainer,
    s: Settings,
    train: tuple[Matrix | None, np.ndarray | None],
    validation: tuple[Matrix | None, np.ndarray | None] | None,
    limit: int | None,
) -> tuple[Stats | None, int]:
    """Train with early stopping; leaves the best epoch's weights in ``trainer``.

    Returns the validation statistics of the kept epoch (``None`` without a validation channel).
    """
    rows = 0 if train[0] is None else int(train[0].shape[0])
    trainer.agree_steps(rows)
    rng = np.random.default_rng([ctx.seed, 7, ctx.rank])
    best, best_stats, best_state, since = math.nan, None, None, 0
    epoch = 0
    for epoch in range(1, s.epochs + 1):
        train_loss = trainer.epoch(train[0], train[1], rng)
        ctx.log_metric("train:objective_loss", float(train_loss.min()), epoch=epoch)
        if validation is not None:
            stats = _evaluate_all(ctx, trainer, s, validation[0], validation[1], limit)
            values, _, higher = _selection(stats, s)
            value = float(values.max() if higher else values.min())
            ctx.log_metric("validation:objective_loss", float(stats.mean_loss().min()), epoch=epoch)
        else:
            stats, higher, value = None, False, float(train_loss.min())
        if _improved(value, best, higher, s.tolerance):
            best, best_stats, since = value, stats, 0
            best_state = trainer.snapshot() if validation is not None else None
        else:
            since += 1
            if since >= s.patience:
                ctx.log(f"early stopping after epoch {epoch}: no improvement for {since} epochs")
                break
    if best_state is not None:
        trainer.restore(best_state)
    ctx.log(f"trained {s.num_models} models for {epoch} epochs")
    return best_stats, epoch


def _final_metrics(
    ctx: TrainContext,
    model: LinearLearnerPredictor,
    s: Settings,
    features: Matrix | None,
    label: np.ndarray | None,
    prefix: str,
    k: int,
) -> dict[str, float]:
    def decide(raw: np.ndarray) -> np.ndarray:
        return np.asarray(to_score(raw[:, None], s.predictor_type, s.loss) >= model.threshold)

    acc = Accumulator(
        s.predictor_type,
        1,
        s.classes,
        s.loss,
        full=True,
        params=_raw_params(s),
        top_k=s.accuracy_top_k,
        decide=decide if s.predictor_type == "binary_classifier" else None,
    )
    if features is not None and label is not None and features.shape[0]:
        acc.add(raw_scores(features, model.weights, model.bias)[:, None, :], label)
    stats = acc.reduce(ctx)
    return stats.metrics(prefix, k, s.f_beta) if stats.count else {}


def train_linear_learner(
    ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
) -> TrainResult:
    """Train Linear Learner on this rank's shards; every rank returns the same model and metrics.

    Raises
    ------
    DataFormatError
        For a missing or invalid label, non-finite features or inconsistent widths.
    """
    # Mini-batch products are small: extra intra-op threads only contend with the other ranks.
    with one_intra_op_thread():
        return _train(ctx, data, hp)


def _train(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    train = _channel(data, "train")
    dim = resolve_feature_dim(ctx, train[0], hp["feature_dim"])
    sparse = bool(ctx.allreduce(np.array([float(sp.issparse(train[0]))]), op="max")[0])
    s = resolve(hp, sparse=sparse, feature_dim=dim)
    channels = {"train": train}
    for name in ("validation", "test"):
        if name in data:
            channels[name] = _channel(data, name)
            resolve_feature_dim(ctx, channels[name][0], dim, channel=name)
    for name, (features, label) in channels.items():
        _check_labels(label, s, name)
        _check_features(features, name)

    features, label = train
    scaler = compute_scaler(
        ctx,
        features,
        label,
        dim,
        points=s.num_point_for_scaler,
        normalize=s.normalize_data,
        unbias=s.unbias_data,
        normalize_label=s.normalize_label,
        unbias_label=s.unbias_label,
    )
    counts = np.zeros(s.classes + 2)
    if label is not None and len(label):
        counts[0], counts[1] = len(label), float((label > 0.5).sum())
        if s.predictor_type == "multiclass_classifier":
            counts[2:] = np.bincount(label.astype(np.int64), minlength=s.classes)
    counts = ctx.allreduce(counts)
    trainer = Trainer(
        ctx,
        s,
        model_grid(s, ctx.seed),
        scaler,
        dim,
        positives=float(counts[1]),
        total=float(counts[0]),
        class_counts=counts[2:],
        sparse=sparse,
    )

    validation = channels.get("validation")
    has_validation = (
        validation is not None
        and int(ctx.allreduce(np.array([0 if validation[0] is None else validation[0].shape[0]]))[0]) > 0
    )
    limit = (
        None if s.num_calibration_samples is None else math.ceil(s.num_calibration_samples / ctx.world_size)
    )
    stats, _ = _fit(ctx, trainer, s, train, validation if has_validation else None, limit)
    if stats is None:
        stats = _evaluate_all(ctx, trainer, s, features, label, limit)
    values, edges, higher = _selection(stats, s)
    best = int(np.argmax(values) if higher else np.argmin(values))
    weights, bias = trainer.final_model(best)
    threshold = 0.5
    if s.predictor_type == "binary_classifier":
        raw_edge = float(edge(int(edges[best])))
        threshold = (
            raw_edge
            if s.loss == "hinge_loss" or not math.isfinite(raw_edge)
            else float(to_score(np.array([[raw_edge]]), s.predictor_type, s.loss)[0])
        )
    model = LinearLearnerPredictor(weights, bias, s.predictor_type, s.loss, threshold)
    by = s.criterion if s.predictor_type == "binary_classifier" else "loss"
    ctx.log(f"chose model {best}/{s.num_models} ({by}={float(values[best]):.6g}), threshold {threshold:.4g}")

    metrics: dict[str, float] = {}
    for name in ("train", "validation", "test"):
        if name == "train" and has_validation:
            continue  # the model was chosen on validation data; a further pass over train is not needed
        if name in channels:
            metrics.update(_final_metrics(ctx, model, s, *channels[name], prefix=name, k=int(edges[best])))
    for key, value in metrics.items():
        ctx.log_metric(key, value)
    return TrainResult(model, metrics)
