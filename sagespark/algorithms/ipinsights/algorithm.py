"""The registered IP Insights algorithm: SageMaker's ``ipinsights``, in pure Python (torch for training).

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData, get_algorithm
>>> from sagespark.distributed.context import LocalContext
>>> algo = get_algorithm("ipinsights")
>>> hp = algo.hyperparameters.from_dict({"num_entity_vectors": 16, "vector_dim": 4, "epochs": 1})
>>> data = ChannelData(None, columns={"entity": np.array(["u1", "u2"], dtype=object),
...                                   "ip": np.array(["10.0.0.1", "10.0.0.2"], dtype=object)})
>>> result = algo.train(LocalContext(), {"train": data}, hp)
>>> [f.name for f in algo.outputs]
['dot_product', 'entity_embedding', 'ip_embedding']
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
from sagespark.algorithms.ipinsights.hyperparameters import IPInsightsHyperparameters
from sagespark.algorithms.ipinsights.predict import IPInsightsPredictor, load_state, save_state
from sagespark.algorithms.ipinsights.train import IPInsightsState, train_ipinsights
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["IPInsights"]


@register
class IPInsights(Algorithm):
    """SageMaker IP Insights: learns which IPv4 addresses each entity (user, account) usually uses.

    Inputs are two string columns, the entity id and its IPv4 address in dotted-decimal notation. The
    output ``dot_product`` is high for usual pairs and low for unusual ones; verbose output adds the
    learned ``entity_embedding`` and ``ip_embedding``.
    """

    name: ClassVar[str] = "ipinsights"
    state_type: ClassVar[type] = IPInsightsState
    hyperparameters: ClassVar[type[Hyperparameters]] = IPInsightsHyperparameters
    inputs: ClassVar[tuple[InputField, ...]] = (
        InputField("entity", "string", "entityCol"),
        InputField("ip", "string", "ipCol"),
    )
    outputs: ClassVar[tuple[OutputField, ...]] = (
        OutputField("dot_product", "double"),
        OutputField("entity_embedding", "vector", verbose=True),
        OutputField("ip_embedding", "vector", verbose=True),
    )
    channels: ClassVar[tuple[str, ...]] = ("train", "validation")

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters
              ) -> TrainResult:
        return train_ipinsights(ctx, data, hp)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        save_state(state, directory)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        return IPInsightsPredictor(load_state(
            directory, num_entity_vectors=int(hp["num_entity_vectors"]), vector_dim=int(hp["vector_dim"]),
            layers=int(hp["num_ip_encoder_layers"]),
        ))  # fmt: skip
