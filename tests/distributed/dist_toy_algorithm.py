"""A tiny test-only algorithm whose model proves which rows each rank saw.

``train`` counts each channel's rows and sums its feature columns and labels on every rank, then
allreduces / allgathers them; the saved state is the train channel's column means (``.npy``). A test
compares those numbers with what it put in the DataFrame: every row read exactly once, by every rank.

Registered under a test-only name, and shipped to Spark workers by value (its module is not installed).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import (
    Algorithm,
    ChannelData,
    InputField,
    OutputField,
    Predictor,
    TrainResult,
    register,
)
from sagespark.distributed.context import TrainContext
from sagespark.hyperparams import Float, Hyperparameters, Int

NAME = "sagespark-test-toy"
CHANNELS = ("train", "validation", "test")


class ToyHyperparameters(Hyperparameters):
    display_name = "Toy"
    feature_dim = Int("Number of features.", low=1, inferred=True)
    fail_on_rank = Int("The rank that raises during training (-1: none).", -1, low=-1)
    scale = Float("Multiplies the predicted score.", 1.0)


class ToyPredictor(Predictor):
    def __init__(self, means: np.ndarray, scale: float) -> None:
        self.means, self.scale = means, scale

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        features = batch["features"]
        return {"score": np.asarray(features @ self.means).ravel() * self.scale}

    @property
    def feature_dim(self) -> int | None:
        return int(self.means.shape[0])


def _column_sums(channel: ChannelData, width: int) -> np.ndarray:
    features = channel.features
    if features is None or features.shape[0] == 0:
        return np.zeros(width)
    if sp.issparse(features):
        return np.asarray(features.sum(axis=0), dtype=np.float64).ravel()
    return features.astype(np.float64).sum(axis=0)


@register
class ToyAlgorithm(Algorithm):
    name: ClassVar[str] = NAME
    hyperparameters: ClassVar[type[Hyperparameters]] = ToyHyperparameters
    inputs: ClassVar[tuple[InputField, ...]] = (
        InputField("features", "vector", "featuresCol"),
        InputField("label", "double", "labelCol", required_for_training=False),
    )
    outputs: ClassVar[tuple[OutputField, ...]] = (OutputField("score", "double"),)
    channels: ClassVar[tuple[str, ...]] = CHANNELS

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
        width = hp["feature_dim"]
        local_rows = data["train"].num_rows
        ctx.log(f"toy rank {ctx.rank} holds {local_rows} train rows")
        if hp["fail_on_rank"] == ctx.rank:
            ctx.log("toy is about to fail on purpose")
            raise ValueError(f"toy failure on rank {ctx.rank}")
        metrics: dict[str, float] = {"world_size": float(ctx.world_size)}
        for name in CHANNELS:
            channel = data.get(name)
            if channel is None:
                continue
            # Collectives on every rank, empty shares included: shapes must agree everywhere.
            rows = ctx.allreduce(np.array([channel.num_rows], dtype=np.int64))
            sums = ctx.allreduce(_column_sums(channel, width))
            label = 0.0 if channel.label is None else float(channel.label.sum())
            metrics[f"{name}:rows"] = float(rows[0])
            metrics[f"{name}:feature_sum"] = float(sums.sum())
            metrics[f"{name}:label_sum"] = float(ctx.allreduce(np.array([label]))[0])
            if name == "train":
                means = sums / max(int(rows[0]), 1)
        per_rank = ctx.allgather(np.array([local_rows], dtype=np.int64))
        ctx.log_metric("train:rows", metrics["train:rows"])
        state = {"means": means, "rows_per_rank": np.concatenate(per_rank)}
        return TrainResult(state=state, metrics=metrics)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        np.save(directory / "means.npy", state["means"], allow_pickle=False)
        np.save(directory / "rows_per_rank.npy", state["rows_per_rank"], allow_pickle=False)

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        means = np.load(directory / "means.npy", allow_pickle=False)
        return ToyPredictor(means, hp["scale"])


def rows_per_rank(directory: Path) -> np.ndarray:
    """What each rank held of the train channel, as saved in the artifact."""
    return np.load(Path(directory) / "rows_per_rank.npy", allow_pickle=False)


def ship_to_spark_workers() -> None:
    """Pickle this module's classes by value: Spark's Python workers cannot import tests/."""
    import sys

    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
