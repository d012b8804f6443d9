"""SageMaker's PCA algorithm (registered as ``"pca"``; JSON responses under ``"projections"``).

Examples
--------
>>> from sagespark.algorithms.pca import PCA
>>> PCA.name, PCA.response_key, [f.name for f in PCA.outputs]
('pca', 'projections', ['projection'])
"""

from sagespark.algorithms.pca.algorithm import PCA
from sagespark.algorithms.pca.hyperparameters import PCAHyperparameters
from sagespark.algorithms.pca.predict import PCAPredictor
from sagespark.algorithms.pca.train import PCAState

__all__ = ["PCA", "PCAHyperparameters", "PCAPredictor", "PCAState"]
