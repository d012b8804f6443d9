"""The registered Random Cut Forest algorithm: SageMaker's ``randomcutforest``, in pure Python.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData, get_algorithm
>>> from sagespark.distributed.context import LocalContext
>>> algo = get_algorithm("randomcutforest")
>>> x = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
>>> hp = algo.infer_hyperparameters(algo.hyperparameters.from_dict({"num_trees": 50}), ChannelData(x))
>>> result = algo.train(LocalContext(), {"train": ChannelData(x)}, hp)
>>> algo.response_key, result.state.num_trees
('scores', 50)
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
from sagespark.algorithms.random_cut_forest.forest import Forest
from sagespark.algorithms.random_cut_forest.hyperparameters import RandomCutForestHyperparameters
from sagespark.algorithms.random_cut_forest.predict import RandomCutForestPredictor
from sagespark.algorithms.random_cut_forest.train import train_rcf
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["RandomCutForest"]


@register
class RandomCutForest(Algorithm):
    """SageMaker Random Cut Forest: unsupervised anomaly scores (higher = more anomalous)."""

    name: ClassVar[str] = "randomcutforest"
    state_type: ClassVar[type] = Forest
    hyperparameters: ClassVar[type[Hyperparameters]] = RandomCutForestHyperparameters
    inputs: ClassVar[tuple[InputField, ...]] = (
        InputField("features", "vector", "featuresCol"),
        # The test channel may carry labels (1 = anomaly) for test:accuracy / precision / recall / f1.
        InputField("label", "double", "labelCol", required_for_training=False, used_for_prediction=False),
    )
    outputs: ClassVar[tuple[OutputField, ...]] = (OutputField("score", "double"),)
    channels: ClassVar[tuple[str, ...]] = ("train", "test")
    response_key: ClassVar[str] = "scores"

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
              ) -> TrainResult:
        return train_rcf(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        state.save(directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        forest = Forest.load(directory, feature_dim=hp["feature_dim"], num_trees=hp["num_trees"])
        return RandomCutForestPredictor(forest)
