"""SageMaker's IP Insights algorithm (registered as ``"ipinsights"``).

Examples
--------
>>> from sagespark.algorithms.ipinsights import IPInsights
>>> IPInsights.name, [f.name for f in IPInsights.inputs]
('ipinsights', ['entity', 'ip'])
"""

from sagespark.algorithms.ipinsights.algorithm import IPInsights
from sagespark.algorithms.ipinsights.hyperparameters import IPInsightsHyperparameters
from sagespark.algorithms.ipinsights.predict import IPInsightsPredictor
from sagespark.algorithms.ipinsights.train import IPInsightsState

__all__ = ["IPInsights", "IPInsightsHyperparameters", "IPInsightsPredictor", "IPInsightsState"]
