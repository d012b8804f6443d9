"""SageMaker's XGBoost algorithm (registered as ``"xgboost"``) on the real xgboost library.

This package is ``sagespark.algorithms.xgboost``; its modules ``import xgboost`` absolutely, which is
the xgboost library (this package is not top-level, so it cannot shadow it).

Examples
--------
>>> from sagespark.algorithms.xgboost import XGBoost
>>> XGBoost.name, [f.name for f in XGBoost.outputs]
('xgboost', ['score', 'predicted_label', 'probabilities'])
"""

from sagespark.algorithms.xgboost.algorithm import XGBoost
from sagespark.algorithms.xgboost.hyperparameters import XGBoostHyperparameters
from sagespark.algorithms.xgboost.predict import XGBoostPredictor
from sagespark.algorithms.xgboost.train import XGBoostState

__all__ = ["XGBoost", "XGBoostHyperparameters", "XGBoostPredictor", "XGBoostState"]
