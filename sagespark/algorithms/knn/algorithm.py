"""The registered k-NN algorithm: SageMaker's ``knn``, on faiss.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData, get_algorithm
>>> from sagespark.distributed.context import LocalContext
>>> algo = get_algorithm("knn")
>>> hp = algo.hyperparameters.from_dict({"k": 1, "predictor_type": "regressor", "sample_size": 100})
>>> x = np.array([[0.0, 0.0], [9.0, 9.0]], dtype=np.float32)
>>> state = algo.train(LocalContext(), {"train": ChannelData(x, np.array([1.5, 7.0]))}, hp).state
>>> KNNPredictor(state).predict({"features": np.array([[1.0, 1.0]])})["predicted_label"].tolist()
[1.5]
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
from sagespark.algorithms.knn.hyperparameters import KNNHyperparameters
from sagespark.algorithms.knn.predict import KNNPredictor, KNNState, load_state, save_state
from sagespark.algorithms.knn.train import train_knn
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["KNN"]


@register
class KNN(Algorithm):
    """SageMaker k-NN: sampled training rows in one faiss index; vote (classifier) or mean (regressor)."""

    name: ClassVar[str] = "knn"
    state_type: ClassVar[type] = KNNState
    hyperparameters: ClassVar[type[Hyperparameters]] = KNNHyperparameters
    inputs: ClassVar[tuple[InputField, ...]] = (
        InputField("features", "vector", "featuresCol"),
        InputField("label", "double", "labelCol", used_for_prediction=False),
    )
    outputs: ClassVar[tuple[OutputField, ...]] = (
        OutputField("predicted_label", "double"),
        OutputField("distances", "vector", verbose=True),
        OutputField("labels", "vector", verbose=True),
    )
    channels: ClassVar[tuple[str, ...]] = ("train", "test")

    @classmethod
    def infer_hyperparameters(cls, hp: Hyperparameters, train: ChannelData) -> Hyperparameters:
        # An empty partition's (0, 0) placeholder says nothing about the width; the ranks with rows
        # decide it (and resolve_feature_dim checks they agree).
        return super().infer_hyperparameters(hp, train) if train.num_rows else hp

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
              ) -> TrainResult:
        return train_knn(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        save_state(state, directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        return KNNPredictor(load_state(directory, k=hp["k"], feature_dim=hp["feature_dim"]))
