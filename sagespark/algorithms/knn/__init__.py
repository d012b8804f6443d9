"""SageMaker's k-nearest-neighbors algorithm (registered as ``"knn"``), on faiss.

Examples
--------
>>> from sagespark.algorithms.knn import KNN
>>> KNN.name, [f.name for f in KNN.outputs if not f.verbose]
('knn', ['predicted_label'])
"""

from sagespark.algorithms.knn.algorithm import KNN
from sagespark.algorithms.knn.hyperparameters import KNNHyperparameters
from sagespark.algorithms.knn.predict import KNNPredictor, KNNState

__all__ = ["KNN", "KNNHyperparameters", "KNNPredictor", "KNNState"]
