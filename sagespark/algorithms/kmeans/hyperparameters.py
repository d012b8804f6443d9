"""K-Means hyperparameters, named, defaulted and ranged as the SageMaker developer guide documents them.

Source: "K-Means Hyperparameters" (``k-means-api-config``) of the SageMaker developer guide. ``k`` and
``feature_dim`` are required there; sagespark infers ``feature_dim`` from the data when it is left out.
The guide leaves the meaning of ``auto`` open for ``extra_center_factor`` and
``local_lloyd_num_trials``; :func:`resolve_extra_center_factor` and :func:`resolve_num_trials` fix it.

Examples
--------
>>> from sagespark.algorithms.kmeans.hyperparameters import KMeansHyperparameters
>>> hp = KMeansHyperparameters.from_wire({"k": "10", "eval_metrics": '["msd","ssd"]'})
>>> hp.k, hp.extra_center_factor, hp.eval_metrics
(10, 'auto', ['msd', 'ssd'])
"""

from __future__ import annotations

from sagespark.hyperparams import AUTO, Choice, Float, Hyperparameters, Int, List

__all__ = [
    "KMeansHyperparameters",
    "resolve_extra_center_factor",
    "resolve_num_trials",
    "AUTO_EXTRA_CENTER_FACTOR",
    "AUTO_NUM_TRIALS",
]

AUTO_EXTRA_CENTER_FACTOR = 10
"""``extra_center_factor="auto"``: keep ten candidate centres per final cluster while streaming."""

AUTO_NUM_TRIALS = 10
"""``local_lloyd_num_trials="auto"``: ten weighted-Lloyd trials, as scikit-learn's classic ``n_init``."""


class KMeansHyperparameters(Hyperparameters):
    """SageMaker K-Means hyperparameters (wire names, defaults and ranges of the developer guide)."""

    display_name = "KMeans"

    k = Int("The number of required clusters.", low=1)
    feature_dim = Int("The number of features in the input data (inferred when left out).", low=1,
                      inferred=True)
    mini_batch_size = Int("The number of observations per mini-batch of the streaming pass.", 5000, low=1)
    epochs = Int("The number of passes done over the training data.", 1, low=1)
    init_method = Choice(
        "How the streaming pass chooses its initial centres.", ["random", "kmeans++"], "random"
    )
    extra_center_factor = Int(
        "The streaming pass keeps k * extra_center_factor centres and reduces them to k at the end.",
        AUTO,
        low=1,
        allow_auto=True,
    )
    local_lloyd_max_iter = Int("Maximum iterations of the final weighted Lloyd procedure.", 300, low=1)
    local_lloyd_tol = Float(
        "Relative change of the loss below which the final Lloyd procedure stops.", 0.0001, low=0.0, high=1.0
    )
    local_lloyd_init_method = Choice(
        "Initialisation of the final weighted Lloyd procedure.", ["random", "kmeans++"], "kmeans++"
    )
    local_lloyd_num_trials = Int(
        "How many times the final Lloyd procedure runs; the lowest-loss run is kept.",
        AUTO,
        low=1,
        allow_auto=True,
    )
    half_life_time_size = Int(
        "Number of observed points after which an observation's weight in a centre halves (0: no decay).",
        0,
        low=0,
    )
    eval_metrics = List(
        "Metrics reported for the train and test channels: msd (mean squared distance), ssd (sum).",
        Choice("A metric name.", ["msd", "ssd"]),
        ["msd"],
    )


def resolve_extra_center_factor(hp: Hyperparameters) -> int:
    """The streaming centre multiplier, with ``"auto"`` resolved.

    Examples
    --------
    >>> resolve_extra_center_factor(KMeansHyperparameters.from_dict({"k": 3}))
    10
    """
    value = hp["extra_center_factor"]
    return AUTO_EXTRA_CENTER_FACTOR if value == AUTO else int(value)


def resolve_num_trials(hp: Hyperparameters) -> int:
    """The number of weighted-Lloyd trials, with ``"auto"`` resolved.

    Examples
    --------
    >>> resolve_num_trials(KMeansHyperparameters.from_dict({"k": 3, "local_lloyd_num_trials": "4"}))
    4
    """
    value = hp["local_lloyd_num_trials"]
    return AUTO_NUM_TRIALS if value == AUTO else int(value)
