"""Ranks agree on inferred hyperparameters and channel shapes before any collective runs (no Spark)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
from dist_toy_algorithm import ToyAlgorithm

from sagespark.algorithms.base import ChannelData
from sagespark.distributed.agreement import agree, fill_empty
from sagespark.distributed.worker import decode_failure, encode_failure
from sagespark.errors import DataFormatError

CHANNELS = ("train", "test")


def _view(rank: int, train: tuple[int, int | None], test: tuple[int, int | None] = (0, 0), **kw: Any) -> dict:
    def channel(rows: int, width: int | None) -> dict[str, Any]:
        return {
            "rows": rows,
            "width": width,
            "sparse": kw.get("sparse", False),
            "label": kw.get("label", False),
            "columns": kw.get("columns", {}),
        }

    hp = kw.get("hp", {"feature_dim": str(train[1]), "scale": "1.0"} if train[0] else None)
    return {"rank": rank, "hp": hp, "data": {"train": channel(*train), "test": channel(*test)}}


def test_agreeing_ranks_give_the_common_shapes() -> None:
    agreed = agree(ToyAlgorithm, CHANNELS, [_view(1, (5, 3), (2, 3)), _view(0, (4, 3))])
    assert agreed.hyperparameters == {"feature_dim": "3", "scale": "1.0"}
    assert agreed.channels["train"].rows == 9 and agreed.channels["train"].width == 3
    assert agreed.channels["test"].rows == 2


def test_ranks_without_train_rows_adopt_the_others_view() -> None:
    agreed = agree(ToyAlgorithm, CHANNELS, [_view(0, (0, 0)), _view(1, (3, 7))])
    assert agreed.hyperparameters["feature_dim"] == "7"
    assert agreed.channels["train"].width == 7


def test_different_inferred_hyperparameters_name_the_ranks_and_values() -> None:
    with pytest.raises(DataFormatError, match=r"feature_dim is '3' on rank 0 but '4' on rank 2"):
        agree(ToyAlgorithm, CHANNELS, [_view(0, (5, 3)), _view(1, (0, 0)), _view(2, (5, 4))])


def test_widths_of_a_channel_must_agree_across_ranks() -> None:
    views = [_view(0, (5, 3), (1, 3)), _view(1, (5, 3), (1, 5))]
    message = r"'test' channel has feature vectors of different sizes: 3 on rank 0"
    with pytest.raises(DataFormatError, match=message):
        agree(ToyAlgorithm, CHANNELS, views)


def test_other_channels_must_match_the_train_width() -> None:
    message = r"'test' channel has feature vectors of size 4.*'train'.*size 3"
    with pytest.raises(DataFormatError, match=message):
        agree(ToyAlgorithm, CHANNELS, [_view(0, (5, 3), (2, 4)), _view(1, (5, 3))])


def test_declared_feature_dim_must_match_the_data() -> None:
    hp = {"feature_dim": "5", "scale": "1.0"}
    with pytest.raises(DataFormatError, match=r"feature_dim is 5 .* have 3 features"):
        agree(ToyAlgorithm, CHANNELS, [_view(0, (5, 3), hp=hp), _view(1, (5, 3), hp=hp)])


def test_an_empty_train_channel_is_an_error() -> None:
    with pytest.raises(DataFormatError, match="'train' channel has no rows"):
        agree(ToyAlgorithm, CHANNELS, [_view(0, (0, 0)), _view(1, (0, 0))])


def test_fill_empty_gives_zero_row_data_of_the_agreed_shape() -> None:
    agreed = agree(
        ToyAlgorithm,
        CHANNELS,
        [_view(0, (0, 0)), _view(1, (5, 3), sparse=True, label=True, columns={"id": "|O"})],
    )
    local = {"train": ChannelData(np.zeros((0, 0), np.float32)), "test": ChannelData(np.zeros((0, 0)))}
    filled = fill_empty(local, agreed)
    train = filled["train"]
    assert sp.issparse(train.features) and train.features.shape == (0, 3)
    assert train.label is not None and train.label.shape == (0,)
    assert train.columns["id"].dtype == object
    assert "test" not in filled  # no rank had test rows: the channel is left out


def test_fill_empty_keeps_a_rank_s_own_rows() -> None:
    agreed = agree(ToyAlgorithm, CHANNELS, [_view(0, (2, 3))])
    own = ChannelData(np.ones((2, 3), np.float32))
    assert fill_empty({"train": own}, agreed)["train"] is own


def test_failure_reports_survive_being_embedded_in_spark_messages() -> None:
    tail = ["line one", "line two"]
    text = encode_failure(3, 4, "ValueError", 'bad {json} "quotes"', tail, secondary=True)
    assert text.startswith("sagespark worker rank 3/4 failed: ValueError")
    found = decode_failure("org.apache.spark.SparkException: Job aborted\n" + text + "\n\tat org.apache")
    assert found == {
        "rank": 3,
        "world_size": 4,
        "error_type": "ValueError",
        "message": 'bad {json} "quotes"',
        "log_tail": ["line one", "line two"],
        "secondary": True,
    }
    assert decode_failure("no report here") is None
