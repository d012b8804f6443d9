"""Turning the neighbours' labels into a prediction: majority vote or mean, vectorised over rows.

The vote breaks ties as scikit-learn's ``KNeighborsClassifier`` (uniform weights) and ``scipy.stats.mode``
do: among the most frequent labels of a row's neighbours, the smallest wins. Each row's labels are
sorted, runs of equal labels are measured, and ``argmax`` takes the first (so smallest) of the longest
runs; no Python loop over rows and no ``rows × classes`` table, so any number of classes is cheap.

Examples
--------
>>> import numpy as np
>>> majority_vote(np.array([[3.0, 1.0, 3.0], [2.0, 1.0, 0.0], [5.0, 4.0, 4.0]])).tolist()
[3.0, 0.0, 4.0]
>>> neighbour_mean(np.array([[1.0, 2.0], [4.0, 8.0]])).tolist()
[1.5, 6.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["majority_vote", "neighbour_mean"]


def majority_vote(labels: np.ndarray) -> np.ndarray:
    """The most frequent label of every row (smallest label among equally frequent ones).

    Parameters
    ----------
    labels : ndarray of shape (rows, k)
        The neighbours' labels, finite floats.

    Returns
    -------
    ndarray of shape (rows,)
        float64 predicted labels.
    """
    rows, k = labels.shape
    if rows == 0 or k == 0:
        return np.full(rows, np.nan)
    ordered = np.sort(np.asarray(labels, dtype=np.float64), axis=1)
    positions = np.broadcast_to(np.arange(k), (rows, k))
    starts = np.ones((rows, k), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones((rows, k), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    # First and last position of the run each element belongs to.
    first = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, positions, k)[:, ::-1], axis=1)[:, ::-1]
    run_length = last - first + 1
    winner = np.argmax(run_length, axis=1)  # first maximum: the smallest of the most frequent labels
    return ordered[np.arange(rows), winner]


def neighbour_mean(labels: np.ndarray) -> np.ndarray:
    """The mean of every row's neighbour labels (the regressor's prediction)."""
    return np.asarray(labels, dtype=np.float64).mean(axis=1)
