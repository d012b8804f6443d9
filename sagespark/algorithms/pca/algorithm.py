"""The registered PCA algorithm: SageMaker's ``pca``, in pure Python.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData, get_algorithm
>>> from sagespark.distributed.context import LocalContext
>>> algo = get_algorithm("pca")
>>> x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
>>> state = algo.train(LocalContext(), {"train": ChannelData(x)},
...                    algo.hyperparameters.from_dict({"num_components": 2})).state
>>> state.components.shape
(2, 4)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sagespark.algorithms.base import Algorithm, ChannelData, OutputField, Predictor, TrainResult, register
from sagespark.algorithms.pca.hyperparameters import DEFAULT_MINI_BATCH_SIZE, PCAHyperparameters
from sagespark.algorithms.pca.predict import PCAPredictor, load_state, save_state
from sagespark.algorithms.pca.train import PCAState, train_pca
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["PCA"]


@register
class PCA(Algorithm):
    """SageMaker PCA: regular (exact covariance) or randomized (sketched) principal components."""

    name: ClassVar[str] = "pca"
    state_type: ClassVar[type] = PCAState
    hyperparameters: ClassVar[type[Hyperparameters]] = PCAHyperparameters
    outputs: ClassVar[tuple[OutputField, ...]] = (OutputField("projection", "vector"),)
    channels: ClassVar[tuple[str, ...]] = ("train", "test")
    response_key: ClassVar[str] = "projections"

    @classmethod
    def infer_hyperparameters(cls, hp: Hyperparameters, train: ChannelData) -> Hyperparameters:
        hp = super().infer_hyperparameters(hp, train)
        if hp["mini_batch_size"] is None:
            hp = hp.replace(mini_batch_size=DEFAULT_MINI_BATCH_SIZE)
        return hp

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
              ) -> TrainResult:
        return train_pca(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        save_state(state, directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        state = load_state(directory, num_components=hp["num_components"], feature_dim=hp["feature_dim"])
        return PCAPredictor(state.mean, state.components, state.subtract_mean)
