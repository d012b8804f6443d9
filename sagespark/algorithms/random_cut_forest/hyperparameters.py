"""Random Cut Forest hyperparameters: names, defaults and ranges of the SageMaker developer guide.

Source: "RCF Hyperparameters" (``rcf_hyperparameters``) of the SageMaker developer guide.
``feature_dim`` is required there (1..10000); sagespark infers it from the data when it is left out.
``eval_metrics`` defaults to both ``accuracy`` and ``precision_recall_fscore``.

Examples
--------
>>> from sagespark.algorithms.random_cut_forest.hyperparameters import RandomCutForestHyperparameters
>>> hp = RandomCutForestHyperparameters.from_wire({"num_trees": "50", "eval_metrics": '["accuracy"]'})
>>> hp.num_trees, hp.num_samples_per_tree, hp.eval_metrics
(50, 256, ['accuracy'])
"""

from __future__ import annotations

from sagespark.hyperparams import Choice, Hyperparameters, Int, List

__all__ = ["RandomCutForestHyperparameters", "EVAL_METRICS"]

EVAL_METRICS = ("accuracy", "precision_recall_fscore")
"""The metric groups a labelled ``test`` channel can report."""


class RandomCutForestHyperparameters(Hyperparameters):
    """SageMaker Random Cut Forest hyperparameters (wire names, defaults and ranges of the guide)."""

    display_name = "RandomCutForest"

    feature_dim = Int("The number of features in the data set (inferred when left out).", low=1,
                      high=10000, inferred=True)
    num_trees = Int("Number of trees in the forest.", 100, low=50, high=1000)
    num_samples_per_tree = Int("Number of random samples given to each tree from the training data set.",
                               256, low=1, high=2048)
    eval_metrics = List(
        "Metrics used to score a labelled test data set: accuracy, precision_recall_fscore.",
        Choice("A metric name.", list(EVAL_METRICS)),
        list(EVAL_METRICS),
    )
