"""SageMaker's Random Cut Forest (registered as ``"randomcutforest"``).

Examples
--------
>>> from sagespark.algorithms.random_cut_forest import RandomCutForest
>>> RandomCutForest.name, [f.name for f in RandomCutForest.outputs], RandomCutForest.response_key
('randomcutforest', ['score'], 'scores')
"""

from sagespark.algorithms.random_cut_forest.algorithm import RandomCutForest
from sagespark.algorithms.random_cut_forest.forest import Forest, build_forest
from sagespark.algorithms.random_cut_forest.hyperparameters import RandomCutForestHyperparameters
from sagespark.algorithms.random_cut_forest.predict import RandomCutForestPredictor
from sagespark.algorithms.random_cut_forest.scoring import anomaly_scores

__all__ = [
    "RandomCutForest",
    "RandomCutForestHyperparameters",
    "RandomCutForestPredictor",
    "Forest",
    "build_forest",
    "anomaly_scores",
]
