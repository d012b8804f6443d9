"""Agreement between training ranks on what the data looks like, before any collective runs.

Every rank decodes its own share of each channel and infers hyperparameters (``feature_dim``) from it.
Those local views must agree, or collectives would mix arrays of different shapes (at best a cryptic
backend error, at worst a hang). The ranks exchange a short JSON summary through the rendezvous
store (:mod:`sagespark.distributed.rendezvous`); every rank then runs :func:`agree` on the same list,
so every rank reaches the same verdict and raises the same error. Ranks whose share of a channel is
empty adopt the agreed shapes (:func:`fill_empty`) and still take part in every collective.

Examples
--------
>>> from sagespark.distributed.agreement import agree
>>> views = [{"rank": 0, "hp": {"k": "2"}, "data": {"train": {"rows": 3, "width": 4, "sparse": False,
...           "label": False, "columns": {}}}},
...          {"rank": 1, "hp": None, "data": {"train": {"rows": 0, "width": 0, "sparse": False,
...           "label": False, "columns": {}}}}]
>>> agree(None, ("train",), views).channels["train"].width
4
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Algorithm, ChannelData
from sagespark.errors import DataFormatError

__all__ = ["ChannelShape", "Agreement", "agree", "fill_empty"]

logger = logging.getLogger("sagespark.train")


@dataclass(frozen=True)
class ChannelShape:
    """The agreed shape of one channel over all ranks."""

    rows: int
    width: int | None
    sparse: bool
    label: bool
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Agreement:
    """Hyperparameters (wire form) and channel shapes every rank agreed on."""

    hyperparameters: dict[str, str]
    channels: dict[str, ChannelShape]


def _ranks(ranks: list[int]) -> str:
    return f"rank {ranks[0]}" if len(ranks) == 1 else f"ranks {ranks}"


def _agree_hyperparameters(views: list[dict[str, Any]]) -> dict[str, str]:
    holders = [v for v in views if v["data"]["train"]["rows"] > 0]
    if not holders:
        raise DataFormatError("The 'train' channel has no rows; there is nothing to train on.")
    reference = holders[0]["hp"]
    for view in holders[1:]:
        if view["hp"] == reference:
            continue
        names = sorted(set(reference) | set(view["hp"]))
        diffs = [
            f"{name} is {reference.get(name)!r} on rank {holders[0]['rank']} but "
            f"{view['hp'].get(name)!r} on rank {view['rank']}"
            for name in names
            if reference.get(name) != view["hp"].get(name)
        ]
        raise DataFormatError(
            "Workers inferred different hyperparameters from their shares of the 'train' channel: "
            + "; ".join(diffs)
            + ". Every row of a channel must have the same number of features."
        )
    return dict(reference)


def _agree_channel(name: str, views: list[dict[str, Any]]) -> ChannelShape | None:
    holders = [v for v in views if v["data"][name]["rows"] > 0]
    if not holders:
        return None
    widths: dict[int | None, list[int]] = {}
    for view in holders:
        widths.setdefault(view["data"][name]["width"], []).append(view["rank"])
    if len(widths) > 1:
        shown = ", ".join(f"{w} on {_ranks(r)}" for w, r in widths.items())
        raise DataFormatError(
            f"The {name!r} channel has feature vectors of different sizes: {shown}. "
            "Every row must have the same number of features."
        )
    columns: dict[str, str] = {}
    for view in holders:
        for column, dtype in view["data"][name]["columns"].items():
            columns.setdefault(column, dtype)
    return ChannelShape(
        rows=sum(v["data"][name]["rows"] for v in holders),
        width=next(iter(widths)),
        sparse=any(v["data"][name]["sparse"] for v in holders),
        label=any(v["data"][name]["label"] for v in holders),
        columns=columns,
    )


def agree(
    algorithm: type[Algorithm] | None, channels: tuple[str, ...], views: list[dict[str, Any]]
) -> Agreement:
    """Check that every rank's view of the data agrees, and return the common shapes.

    Parameters
    ----------
    algorithm : type[Algorithm] or None
        The algorithm being trained (used in messages only).
    channels : tuple of str
        Channel names; ``"train"`` must be among them.
    views : list of dict
        One summary per rank: ``{"rank", "hp" (wire form, None without train rows), "data": {channel:
        {"rows", "width", "sparse", "label", "columns"}}}``.

    Raises
    ------
    DataFormatError
        When the train channel is empty everywhere, ranks inferred different hyperparameters, a channel's
        vectors differ in size between ranks, another channel's width differs from the train channel's, or
        ``feature_dim`` contradicts the data.
    """
    views = sorted(views, key=lambda v: v["rank"])
    hyperparameters = _agree_hyperparameters(views)
    shapes: dict[str, ChannelShape] = {}
    for name in channels:
        shape = _agree_channel(name, views)
        if shape is not None:
            shapes[name] = shape
    train_width = shapes["train"].width
    declared = hyperparameters.get("feature_dim")
    if declared is not None and train_width is not None and int(declared) != train_width:
        who = algorithm.name if algorithm is not None else "the algorithm"
        raise DataFormatError(
            f"feature_dim is {declared} for {who}, but the vectors of the 'train' channel have "
            f"{train_width} features."
        )
    for name, shape in shapes.items():
        if name != "train" and None not in (shape.width, train_width) and shape.width != train_width:
            raise DataFormatError(
                f"The {name!r} channel has feature vectors of size {shape.width}, but the 'train' channel "
                f"has size {train_width}."
            )
    return Agreement(hyperparameters, shapes)


def _empty_channel(shape: ChannelShape) -> ChannelData:
    features: Any = None
    if shape.width is not None:
        features = (
            sp.csr_matrix((0, shape.width), dtype=np.float32)
            if shape.sparse
            else np.zeros((0, shape.width), dtype=np.float32)
        )
    return ChannelData(
        features=features,
        label=np.zeros(0, dtype=np.float64) if shape.label else None,
        columns={name: np.empty(0, dtype=np.dtype(dtype)) for name, dtype in shape.columns.items()},
    )


def fill_empty(data: dict[str, ChannelData], agreement: Agreement) -> dict[str, ChannelData]:
    """This rank's channels, with empty shares replaced by zero-row data of the agreed shapes.

    Channels with no rows on any rank are dropped (and logged), so an algorithm never sees a channel it
    cannot learn or score anything from.
    """
    out: dict[str, ChannelData] = {}
    for name, channel in data.items():
        shape = agreement.channels.get(name)
        if shape is None:
            logger.warning("the %r channel has no rows on any worker; it is left out", name)
            continue
        out[name] = channel if channel.num_rows else _empty_channel(shape)
    return out
