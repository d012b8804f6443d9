"""Generated anomaly-detection data sets shared by the Random Cut Forest tests and benchmark."""

from __future__ import annotations

import numpy as np

__all__ = ["isolated_points", "clustered_outliers", "shifted_periodic_segment", "shingle"]


def isolated_points(rng: np.random.Generator, rows: int = 2000, dim: int = 5, anomalies: int = 20
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Gaussian rows plus scattered points drawn uniformly from a wide box."""
    mixing = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    x = rng.normal(size=(rows, dim)) @ mixing
    spread = np.abs(x).max(axis=0)
    outliers = rng.uniform(-1.5 * spread, 1.5 * spread, size=(anomalies, dim))
    return _shuffle(rng, x, outliers)


def clustered_outliers(rng: np.random.Generator, rows: int = 2000, dim: int = 4, anomalies: int = 20,
                       nuisance: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clusters plus a tight micro-cluster of anomalies midway between them.

    ``nuisance`` extra columns of small-range uniform noise carry no signal (RCF draws cut dimensions
    in proportion to their range, Isolation Forest uniformly). Every anomaly lies within the range of
    the normal rows in each column, so no single cut isolates it.
    """
    centres = np.array([np.zeros(dim), np.full(dim, 6.0)])
    x = centres[rng.integers(0, 2, rows)] + rng.normal(size=(rows, dim))
    outliers = 3.0 + 0.3 * rng.normal(size=(anomalies, dim))
    x, y = _shuffle(rng, x, outliers)
    return np.hstack([x, rng.uniform(0.0, 1.0, size=(x.shape[0], nuisance))]), y


def shingle(series: np.ndarray, size: int) -> np.ndarray:
    """Rows of ``size`` consecutive values (row ``i`` = ``series[i : i + size]``)."""
    return np.lib.stride_tricks.sliding_window_view(series, size).copy()


def shifted_periodic_segment(rng: np.random.Generator, length: int = 3000, period: int = 50,
                             size: int = 20, start: int = 2000, width: int = 60
                             ) -> tuple[np.ndarray, np.ndarray]:
    """A noisy sine whose segment ``[start, start + width)`` is shifted up; shingled rows.

    A row is anomalous when its window overlaps the shifted segment.
    """
    t = np.arange(length)
    series = np.sin(2 * np.pi * t / period) + 0.05 * rng.normal(size=length)
    series[start:start + width] += 0.4
    x = shingle(series, size)
    first = np.arange(x.shape[0])
    label = ((first + size > start) & (first < start + width)).astype(np.float64)
    return x, label


def _shuffle(rng: np.random.Generator, normal: np.ndarray, outliers: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    x = np.vstack([normal, outliers])
    y = np.r_[np.zeros(len(normal)), np.ones(len(outliers))]
    order = rng.permutation(len(x))
    return x[order], y[order]
