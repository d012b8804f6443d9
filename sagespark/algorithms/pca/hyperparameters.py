"""PCA hyperparameters, named, defaulted and ranged as the SageMaker developer guide documents them.

Source: "PCA Hyperparameters" (``PCA-reference``) of the SageMaker developer guide. ``feature_dim``,
``mini_batch_size`` and ``num_components`` are required there. sagespark infers ``feature_dim`` from the
data, and fills a missing ``mini_batch_size`` with 500, the default the SageMaker Python SDK sends
(``PCA.DEFAULT_MINI_BATCH_SIZE``); it only sets the streaming block size, never the result.
``extra_components=-1`` means ``max(10, num_components)`` extra sketch columns (randomized mode only).

Examples
--------
>>> hp = PCAHyperparameters.from_wire({"num_components": "5", "subtract_mean": "False"})
>>> hp.algorithm_mode, hp.subtract_mean, sketch_width(hp, feature_dim=64)
('regular', False, 15)
"""

from __future__ import annotations

from sagespark.hyperparams import Bool, Choice, Hyperparameters, Int

__all__ = ["PCAHyperparameters", "sketch_width", "DEFAULT_MINI_BATCH_SIZE"]

DEFAULT_MINI_BATCH_SIZE = 500


class PCAHyperparameters(Hyperparameters):
    """SageMaker PCA hyperparameters (wire names, defaults and ranges of the developer guide)."""

    display_name = "PCA"

    num_components = Int("The number of principal components to compute.", low=1)
    feature_dim = Int("Input dimension (inferred when left out).", low=1, inferred=True)
    mini_batch_size = Int("Number of rows in a mini-batch (500 when left out).", low=1, inferred=True)
    algorithm_mode = Choice("Mode for computing the principal components.", ["regular", "randomized"],
                            "regular")
    subtract_mean = Bool("Whether the data is centred, both during training and at inference.", True)
    extra_components = Int(
        "Extra sketch columns of randomized mode; -1 means max(10, num_components).", -1, low=-1
    )


def sketch_width(hp: Hyperparameters, *, feature_dim: int) -> int:
    """Columns of the randomized sketch: ``num_components + extra``, capped at ``feature_dim``.

    Examples
    --------
    >>> sketch_width(PCAHyperparameters.from_dict({"num_components": 3}), feature_dim=100)
    13
    >>> sketch_width(PCAHyperparameters.from_dict({"num_components": 30}), feature_dim=100)
    60
    """
    p = int(hp["num_components"])
    extra = int(hp["extra_components"])
    extra = max(10, p) if extra == -1 else extra
    return min(feature_dim, p + extra)
