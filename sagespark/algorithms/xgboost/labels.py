"""Label checks per objective, so a bad label fails with its channel and row, not deep inside XGBoost.

Examples
--------
>>> import numpy as np
>>> check_labels(np.array([0.0, 1.0]), "binary:logistic", None, channel="train", rank=0)
>>> check_labels(np.array([0.0, 2.0]), "binary:logistic", None, channel="train", rank=0)
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
sagespark.errors.DataFormatError: Column 'label' of the 'train' channel, row 1 ... in [0, 1]; got 2.0.
"""

from __future__ import annotations

import numpy as np

from sagespark.errors import DataFormatError

__all__ = ["check_labels"]

_UNIT = ("binary:logistic", "binary:logitraw", "binary:hinge", "reg:logistic")
_NON_NEGATIVE = ("count:poisson", "reg:tweedie")


def _fail(bad: np.ndarray, label: np.ndarray, objective: str, expected: str, channel: str, rank: int) -> None:
    row = int(np.flatnonzero(bad)[0])
    raise DataFormatError(
        f"Column 'label' of the {channel!r} channel, row {row} of rank {rank}'s share: objective "
        f"{objective!r} needs labels {expected}; got {float(label[row])!r}."
    )


def check_labels(label: np.ndarray | None, objective: str, num_class: int | None, *, channel: str,
                 rank: int) -> None:
    """Raise :class:`DataFormatError` for a missing label column or a label the objective cannot take.

    Parameters
    ----------
    label : numpy.ndarray or None
        This rank's labels of one channel (float64).
    objective : str
        The XGBoost objective.
    num_class : int or None
        Number of classes for ``multi:`` objectives.
    channel : str
        Channel name, for the message.
    rank : int
        This rank, for the message (rows are numbered within the rank's share).
    """
    if label is None:
        raise DataFormatError(
            f"XGBoost needs a 'label' column in the {channel!r} channel (set labelCol); it has none."
        )
    if label.size == 0:
        return
    _fail_if(~np.isfinite(label), label, objective, "that are finite numbers", channel, rank)
    if objective in _UNIT:
        _fail_if((label < 0) | (label > 1), label, objective, "in [0, 1]", channel, rank)
    elif objective in _NON_NEGATIVE:
        _fail_if(label < 0, label, objective, "≥ 0", channel, rank)
    elif objective == "reg:gamma":
        _fail_if(label <= 0, label, objective, "> 0", channel, rank)
    elif objective == "reg:squaredlogerror":
        _fail_if(label <= -1, label, objective, "> -1", channel, rank)
    elif objective.startswith("multi:") and num_class is not None:
        bad = (label < 0) | (label >= num_class) | (label != np.floor(label))
        _fail_if(bad, label, objective, f"that are whole numbers in [0, {num_class - 1}] (num_class="
                 f"{num_class})", channel, rank)


def _fail_if(bad: np.ndarray, label: np.ndarray, objective: str, expected: str, channel: str, rank: int
             ) -> None:
    if bad.any():
        _fail(bad, label, objective, expected, channel, rank)
