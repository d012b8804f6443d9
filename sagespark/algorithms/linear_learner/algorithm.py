"""The registered Linear Learner algorithm: SageMaker's ``linear-learner``, in pure Python (torch).

Examples
--------
>>> from sagespark.algorithms import get_algorithm
>>> algo = get_algorithm("linear-learner")
>>> hp = algo.hyperparameters.from_dict({"predictor_type": "regressor"})
>>> [(f.name, f.kind) for f in algo.output_fields(hp)]
[('score', 'double')]
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
from sagespark.algorithms.linear_learner.hyperparameters import LinearLearnerHyperparameters
from sagespark.algorithms.linear_learner.predict import LinearLearnerPredictor, load_model, save_model
from sagespark.algorithms.linear_learner.train import train_linear_learner
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["LinearLearner"]

_BINARY = (OutputField("score", "double"), OutputField("predicted_label", "double"))
_MULTICLASS = (OutputField("score", "vector"), OutputField("predicted_label", "double"))
_REGRESSOR = (OutputField("score", "double"),)


@register
class LinearLearner(Algorithm):
    """SageMaker Linear Learner: binary, multiclass or regression linear models, many trained at once."""

    name: ClassVar[str] = "linear-learner"
    state_type: ClassVar[type] = LinearLearnerPredictor
    hyperparameters: ClassVar[type[Hyperparameters]] = LinearLearnerHyperparameters
    inputs: ClassVar[tuple[InputField, ...]] = (
        InputField("features", "vector", "featuresCol"),
        InputField("label", "double", "labelCol", required_for_training=True, used_for_prediction=False),
    )
    outputs: ClassVar[tuple[OutputField, ...]] = _BINARY
    """Every output a model can write (a binary classifier's); :meth:`output_fields` gives a model's own."""
    channels: ClassVar[tuple[str, ...]] = ("train", "validation", "test")

    @classmethod
    def output_fields(cls, hp: Hyperparameters | Mapping[str, Any] | None) -> tuple[OutputField, ...]:
        kind = None if hp is None else hp["predictor_type"]
        if kind == "multiclass_classifier":
            return _MULTICLASS
        if kind == "regressor":
            return _REGRESSOR
        return _BINARY

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
        return train_linear_learner(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        save_model(state, directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        return load_model(directory, feature_dim=hp["feature_dim"])
