"""The registered K-Means algorithm: SageMaker's ``kmeans``, in pure Python.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData, get_algorithm
>>> from sagespark.distributed.context import LocalContext
>>> algo = get_algorithm("kmeans")
>>> hp = algo.hyperparameters.from_dict({"k": 2})
>>> x = np.array([[0, 0], [0, 1], [9, 9], [9, 8]], dtype=np.float32)
>>> result = algo.train(LocalContext(), {"train": ChannelData(x)}, hp)
>>> sorted(result.state.centers[:, 0].tolist())
[0.0, 9.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sagespark.algorithms.base import Algorithm, ChannelData, OutputField, Predictor, TrainResult, register
from sagespark.algorithms.kmeans.hyperparameters import KMeansHyperparameters
from sagespark.algorithms.kmeans.predict import KMeansPredictor, load_centers, save_centers
from sagespark.algorithms.kmeans.train import KMeansState, train_kmeans
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["KMeans"]


@register
class KMeans(Algorithm):
    """SageMaker K-Means: streaming mini-batch k-means per worker, reduced to ``k`` centres."""

    name: ClassVar[str] = "kmeans"
    state_type: ClassVar[type] = KMeansState
    hyperparameters: ClassVar[type[Hyperparameters]] = KMeansHyperparameters
    outputs: ClassVar[tuple[OutputField, ...]] = (
        OutputField("closest_cluster", "double"),
        OutputField("distance_to_cluster", "double"),
    )
    channels: ClassVar[tuple[str, ...]] = ("train", "test")

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
              ) -> TrainResult:
        return train_kmeans(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        save_centers(state.centers, directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        return KMeansPredictor(load_centers(directory, k=hp["k"], feature_dim=hp["feature_dim"]))
