"""From validated hyperparameters to the parameter dict ``xgboost.train`` takes.

SageMaker names are XGBoost's own names, so most values pass straight through; what needs care is
which values XGBoost should not see (unset options, options of another booster or objective, the
training-loop values ``num_round`` / ``early_stopping_rounds``) and the deprecated ``gpu_hist``.

Examples
--------
>>> from sagespark.algorithms.xgboost.hyperparameters import XGBoostHyperparameters
>>> hp = XGBoostHyperparameters.from_dict({"num_round": 10, "objective": "binary:logistic"})
>>> p = booster_params(hp, nthread=2, device="cpu")
>>> p["objective"], p["tree_method"], p["nthread"], "num_round" in p
('binary:logistic', 'hist', 2, False)
"""

from __future__ import annotations

import re
from typing import Any

from sagespark.hyperparams import Hyperparameters

__all__ = ["booster_params", "LOOP_ONLY", "uses_quantile_matrix"]

LOOP_ONLY = frozenset({"num_round", "early_stopping_rounds", "nthread", "eval_metric"})
"""Hyperparameters that drive the training loop (or are resolved separately), not the booster."""

_DART_ONLY = frozenset({"sample_type", "normalize_type", "rate_drop", "one_drop", "skip_drop"})
_TREE_ONLY = frozenset({
    "gamma", "max_depth", "min_child_weight", "max_delta_step", "subsample", "sampling_method",
    "colsample_bytree", "colsample_bylevel", "colsample_bynode", "tree_method", "grow_policy",
    "max_leaves", "max_bin", "num_parallel_tree",
})  # fmt: skip
_LOGISTIC = re.compile(r"^(binary:|reg:logistic$)")
_OBJECTIVE_ONLY = {"tweedie_variance_power": "reg:tweedie", "huber_slope": "reg:pseudohubererror"}


def resolved_tree_method(hp: Hyperparameters) -> str:
    """``auto`` and ``gpu_hist`` resolve to ``hist`` (XGBoost 2+ picks hist for auto; the GPU is a device)."""
    method = str(hp["tree_method"])
    return "hist" if method in ("auto", "gpu_hist") else method


def uses_quantile_matrix(hp: Hyperparameters) -> bool:
    """Whether training can use a ``QuantileDMatrix`` (hist trees); otherwise a plain ``DMatrix``."""
    return hp["booster"] != "gblinear" and resolved_tree_method(hp) == "hist"


def booster_params(hp: Hyperparameters, *, nthread: int, device: str) -> dict[str, Any]:
    """The ``params`` argument of ``xgboost.train`` for ``hp``.

    Parameters
    ----------
    hp : Hyperparameters
        Validated XGBoost hyperparameters.
    nthread : int
        Threads for this worker (``"auto"`` already resolved).
    device : str
        ``"cpu"`` or ``"cuda:N"`` (from the training context).
    """
    booster = hp["booster"]
    out: dict[str, Any] = {}
    for name, value in hp.to_dict().items():
        if value is None or name in LOOP_ONLY:
            continue
        if name in _DART_ONLY and booster != "dart":
            continue
        if name in _TREE_ONLY and booster == "gblinear":
            continue
        if name in _OBJECTIVE_ONLY and hp["objective"] != _OBJECTIVE_ONLY[name]:
            continue
        if name == "scale_pos_weight" and not _LOGISTIC.match(hp["objective"]):
            continue  # only the logistic objectives weigh positives
        out[name] = value
    if booster != "gblinear":
        out["tree_method"] = resolved_tree_method(hp)
    if hp["tree_method"] == "gpu_hist" and not device.startswith("cuda"):
        device = "cuda"  # the deprecated spelling always meant "train on the GPU"
    out["device"] = device
    out["nthread"] = nthread
    if hp["eval_metric"]:
        out["eval_metric"] = list(hp["eval_metric"])
    return out
