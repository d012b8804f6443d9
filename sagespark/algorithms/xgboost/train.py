"""XGBoost training on every rank: matrices from the rank's own shard, XGBoost's collective in between.

Each rank builds its (Quantile)DMatrix from its own share of the ``train`` and ``validation`` channels
(the quantile sketch is merged across ranks by XGBoost itself), then ``xgboost.train`` runs in the
shared communicator, so every rank ends with the same booster. Metrics are logged per round under
SageMaker's names (``train:rmse``, ``validation:auc``); with ``early_stopping_rounds`` the last
validation metric decides, and the model keeps the rounds up to the best one, as SageMaker hosts the
best model.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData
>>> from sagespark.algorithms.xgboost.hyperparameters import XGBoostHyperparameters
>>> from sagespark.distributed.context import LocalContext
>>> x = np.arange(40, dtype=np.float32).reshape(20, 2)
>>> hp = XGBoostHyperparameters.from_dict({"num_round": 5, "nthread": 1})
>>> result = train_xgboost(LocalContext(), {"train": ChannelData(x, x[:, 0].astype(np.float64))}, hp)
>>> sorted(result.metrics)
['train:rmse']
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sagespark.algorithms.base import ChannelData, TrainResult
from sagespark.algorithms.xgboost.collective import xgboost_world
from sagespark.algorithms.xgboost.labels import check_labels
from sagespark.algorithms.xgboost.params import booster_params, uses_quantile_matrix
from sagespark.errors import DataFormatError, InvalidHyperparameterError
from sagespark.hyperparams import AUTO, Hyperparameters

if TYPE_CHECKING:
    import xgboost

    from sagespark.distributed.context import TrainContext

__all__ = ["XGBoostState", "train_xgboost", "resolve_nthread"]


@dataclass
class XGBoostState:
    """A trained model: XGBoost's JSON model bytes and a few facts about the run."""

    model: bytes
    info: dict[str, Any] = field(default_factory=dict)


def resolve_nthread(hp: Hyperparameters, ranks_on_host: int) -> int:
    """``nthread``, with ``"auto"`` = this host's usable cores shared among the ranks on it.

    Examples
    --------
    >>> from sagespark.algorithms.xgboost.hyperparameters import XGBoostHyperparameters
    >>> resolve_nthread(XGBoostHyperparameters.from_dict({"num_round": 1, "nthread": 3}), 2)
    3
    """
    if hp["nthread"] != AUTO:
        return int(hp["nthread"])
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, ranks_on_host))


def _matrix(channel: ChannelData, hp: Hyperparameters, nthread: int, name: str,
            ref: xgboost.DMatrix | None = None) -> xgboost.DMatrix:
    import xgboost

    if channel.features is None:
        raise DataFormatError(f"XGBoost needs a 'features' column in the {name!r} channel; it has none.")
    if uses_quantile_matrix(hp):
        return xgboost.QuantileDMatrix(
            channel.features, label=channel.label, max_bin=hp["max_bin"], ref=ref, nthread=nthread
        )
    return xgboost.DMatrix(channel.features, label=channel.label, nthread=nthread)


def _metric_logger(ctx: TrainContext) -> Any:
    import xgboost

    class MetricLogger(xgboost.callback.TrainingCallback):
        """Logs every metric of every round as ``<channel>:<metric>`` (SageMaker's names)."""

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            for data, metrics in evals_log.items():
                for name, values in metrics.items():
                    latest = values[-1]
                    value = latest[0] if isinstance(latest, tuple) else latest
                    ctx.log_metric(f"{data}:{name}", float(value), epoch)
            return False

    return MetricLogger()


def _final_metrics(evals_result: dict[str, Any], round_index: int) -> dict[str, float]:
    out: dict[str, float] = {}
    for data, metrics in evals_result.items():
        for name, values in metrics.items():
            if values:
                value = values[min(round_index, len(values) - 1)]
                out[f"{data}:{name}"] = float(value[0] if isinstance(value, tuple) else value)
    return out


def _total_rows(ctx: TrainContext, channel: ChannelData | None) -> int:
    rows = 0 if channel is None else channel.num_rows
    return int(ctx.allreduce(np.array([rows], dtype=np.int64))[0])


def train_xgboost(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    """Train on this rank's shards of ``train`` (and ``validation``); every rank gets the same booster.

    Raises
    ------
    DataFormatError
        For a missing feature or label column, or a label the objective cannot take (naming the row).
    InvalidHyperparameterError
        For ``early_stopping_rounds`` without validation rows, or the exact tree method on several ranks.
    """
    import xgboost

    train = data["train"]
    validation = data.get("validation")
    objective, num_class = hp["objective"], hp["num_class"]
    for name, channel in (("train", train), ("validation", validation)):
        if channel is not None:
            check_labels(channel.label, objective, num_class, channel=name, rank=ctx.rank)
    if ctx.world_size > 1 and hp["tree_method"] == "exact":
        raise InvalidHyperparameterError(
            "The 'tree_method' parameter of XGBoost cannot be 'exact' with several workers: XGBoost's "
            "exact method is single-process only. Use 'hist' or 'approx', or numWorkers=1."
        )
    if _total_rows(ctx, train) == 0:
        raise DataFormatError("The 'train' channel has no rows: XGBoost needs data to train on.")
    has_validation = _total_rows(ctx, validation) > 0
    early = hp["early_stopping_rounds"]
    if early is not None and not has_validation:
        raise InvalidHyperparameterError(
            "The 'early_stopping_rounds' parameter of XGBoost needs a 'validation' channel with rows "
            "(setValidationData); none was given."
        )
    evals_result: dict[str, Any] = {}
    with xgboost_world(ctx) as world:
        nthread = resolve_nthread(hp, world.ranks_on_host)
        params = booster_params(hp, nthread=nthread, device=ctx.device)
        ctx.log(f"XGBoost {xgboost.__version__}, {nthread} thread(s), params {params}")
        dtrain = _matrix(train, hp, nthread, "train")
        evals = [(dtrain, "train")]
        if has_validation and validation is not None:
            evals.append((_matrix(validation, hp, nthread, "validation", ref=dtrain), "validation"))
        callbacks: list[Any] = [_metric_logger(ctx)]
        if early is not None:
            callbacks.append(
                xgboost.callback.EarlyStopping(
                    rounds=early, data_name="validation", save_best=hp["booster"] != "gblinear"
                )
            )
        booster = xgboost.train(
            params, dtrain, num_boost_round=hp["num_round"], evals=evals, evals_result=evals_result,
            verbose_eval=False, callbacks=callbacks,
        )
    rounds = booster.num_boosted_rounds()
    best = int(booster.best_iteration) if early is not None and booster.attr("best_iteration") else rounds - 1
    metrics = _final_metrics(evals_result, best)
    if early is not None:
        ctx.log(f"early stopping kept {best + 1} of {len(next(iter(evals_result['train'].values())))} rounds")
    info = {
        "objective": objective,
        "num_class": num_class,
        "num_features": int(booster.num_features()),
        "rounds": int(booster.num_boosted_rounds()),
        "best_iteration": best,
        "xgboost_version": xgboost.__version__,
    }
    return TrainResult(XGBoostState(bytes(booster.save_raw("json")), info), metrics)
