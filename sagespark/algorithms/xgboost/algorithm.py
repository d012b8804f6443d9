"""The registered XGBoost algorithm: SageMaker's ``xgboost``, on the real xgboost library.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData, get_algorithm
>>> from sagespark.distributed.context import LocalContext
>>> algo = get_algorithm("xgboost")
>>> hp = algo.hyperparameters.from_dict({"num_round": 3, "objective": "binary:logistic"})
>>> x = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
>>> result = algo.train(LocalContext(), {"train": ChannelData(x, np.array([0.0, 0, 1, 1]))}, hp)
>>> result.state.info["rounds"]
3
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sagespark.algorithms.base import (
    Algorithm,
    ChannelData,
    InputField,
    OutputField,
    Predictor,
    TrainResult,
    register,
)
from sagespark.algorithms.xgboost.hyperparameters import XGBoostHyperparameters
from sagespark.algorithms.xgboost.predict import XGBoostPredictor, load_model, outputs_for, save_model
from sagespark.algorithms.xgboost.train import XGBoostState, train_xgboost
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["XGBoost"]


@register
class XGBoost(Algorithm):
    """SageMaker XGBoost: gradient-boosted trees trained with XGBoost's own collective."""

    name: ClassVar[str] = "xgboost"
    state_type: ClassVar[type] = XGBoostState
    hyperparameters: ClassVar[type[Hyperparameters]] = XGBoostHyperparameters
    inputs: ClassVar[tuple[InputField, ...]] = (
        InputField("features", "vector", "featuresCol"),
        InputField("label", "double", "labelCol", used_for_prediction=False),
    )
    outputs: ClassVar[tuple[OutputField, ...]] = (
        OutputField("score", "double"),
        OutputField("predicted_label", "double", verbose=True),
        OutputField("probabilities", "vector", verbose=True),
    )
    """Every output a model can write; :meth:`output_fields` gives those of a model's objective."""
    channels: ClassVar[tuple[str, ...]] = ("train", "validation")
    default_accept: ClassVar[str] = "text/csv"
    """SageMaker's XGBoost container answers CSV (one score per line) unless asked for another type."""

    @classmethod
    def output_fields(cls, hp: Hyperparameters | Mapping[str, Any] | None) -> tuple[OutputField, ...]:
        """``score`` for regression; classification adds the verbose ``predicted_label`` and, where
        the objective gives class probabilities, ``probabilities``."""
        if hp is None or "objective" not in hp:
            return cls.outputs
        return tuple(f for f in cls.outputs if f.name in outputs_for(str(hp["objective"])))

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
              ) -> TrainResult:
        return train_xgboost(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        save_model(state.model, state.info, directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        booster, info = load_model(directory)
        return XGBoostPredictor(booster, str(info.get("objective", hp["objective"])), hp["num_class"])
