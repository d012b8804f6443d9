"""The registered Factorization Machines algorithm: SageMaker's ``factorization-machines``.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData, get_algorithm
>>> from sagespark.distributed.context import LocalContext
>>> algo = get_algorithm("factorization-machines")
>>> hp = algo.hyperparameters.from_dict({"num_factors": 2, "predictor_type": "binary_classifier",
...                                      "feature_dim": 2, "epochs": 20, "mini_batch_size": 10,
...                                      "linear_lr": 0.05})
>>> x = np.array([[1, 0], [0, 1]] * 20, dtype=np.float32)
>>> result = algo.train(LocalContext(), {"train": ChannelData(x, x[:, 0].astype(np.float64))}, hp)
>>> algo_pred = result.state
>>> from sagespark.algorithms.factorization_machines import FMPredictor
>>> FMPredictor(algo_pred).predict({"features": x[:2]})["predicted_label"].tolist()
[1.0, 0.0]
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
from sagespark.algorithms.factorization_machines.hyperparameters import (
    FactorizationMachinesHyperparameters,
)
from sagespark.algorithms.factorization_machines.model import FMState, load_state, save_state
from sagespark.algorithms.factorization_machines.predict import FMPredictor
from sagespark.algorithms.factorization_machines.train import train_fm
from sagespark.errors import ArtifactError
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["FactorizationMachines"]


@register
class FactorizationMachines(Algorithm):
    """SageMaker Factorization Machines: bias + linear + pairwise factor terms, sparse first."""

    name: ClassVar[str] = "factorization-machines"
    state_type: ClassVar[type] = FMState
    hyperparameters: ClassVar[type[Hyperparameters]] = FactorizationMachinesHyperparameters
    inputs: ClassVar[tuple[InputField, ...]] = (
        InputField("features", "vector", "featuresCol"),
        InputField("label", "double", "labelCol", required_for_training=True, used_for_prediction=False),
    )
    outputs: ClassVar[tuple[OutputField, ...]] = (
        OutputField("score", "double"),
        OutputField("predicted_label", "double"),
    )
    """Every output a model can write (the binary classifier's); :meth:`output_fields` gives a model's own."""
    channels: ClassVar[tuple[str, ...]] = ("train", "test")

    @classmethod
    def output_fields(cls, hp: Hyperparameters | Mapping[str, Any] | None) -> tuple[OutputField, ...]:
        # SageMaker's regressor answers with the score alone.
        if hp is not None and hp["predictor_type"] == "regressor":
            return cls.outputs[:1]
        return cls.outputs

    @classmethod
    def infer_hyperparameters(cls, hp: Hyperparameters, train: ChannelData) -> Hyperparameters:
        # An empty partition arrives as a (0, 0) matrix: it must not infer feature_dim=0.
        if train.features is None or train.features.shape[0] == 0:
            return hp
        return super().infer_hyperparameters(hp, train)

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
              ) -> TrainResult:
        return train_fm(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        save_state(state, directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        state = load_state(directory)
        expected = (hp["predictor_type"], hp["feature_dim"], hp["num_factors"])
        found = (state.predictor_type, state.feature_dim, int(state.factors.shape[1]))
        if any(e is not None and e != f for e, f in zip(expected, found)):
            raise ArtifactError(
                f"The model in {directory} has predictor_type, feature_dim, num_factors = {found}, but "
                f"the hyperparameters say {expected}."
            )
        return FMPredictor(state)
