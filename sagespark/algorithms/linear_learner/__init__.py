"""SageMaker's Linear Learner algorithm (registered as ``"linear-learner"``).

Examples
--------
>>> from sagespark.algorithms.linear_learner import LinearLearner
>>> LinearLearner.name, LinearLearner.channels
('linear-learner', ('train', 'validation', 'test'))
"""

from sagespark.algorithms.linear_learner.algorithm import LinearLearner
from sagespark.algorithms.linear_learner.hyperparameters import LinearLearnerHyperparameters
from sagespark.algorithms.linear_learner.predict import LinearLearnerPredictor

__all__ = ["LinearLearner", "LinearLearnerHyperparameters", "LinearLearnerPredictor"]
