"""SageMaker's K-Means algorithm (registered as ``"kmeans"``).

Examples
--------
>>> from sagespark.algorithms.kmeans import KMeans
>>> KMeans.name, [f.name for f in KMeans.outputs]
('kmeans', ['closest_cluster', 'distance_to_cluster'])
"""

from sagespark.algorithms.kmeans.algorithm import KMeans
from sagespark.algorithms.kmeans.hyperparameters import KMeansHyperparameters
from sagespark.algorithms.kmeans.predict import KMeansPredictor
from sagespark.algorithms.kmeans.train import KMeansState

__all__ = ["KMeans", "KMeansHyperparameters", "KMeansPredictor", "KMeansState"]
