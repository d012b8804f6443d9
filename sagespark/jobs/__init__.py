"""SageMaker's training-job contract (``/opt/ml`` layout) behind ``sagespark train``.

Examples
--------
>>> from sagespark.jobs import run_training_job
>>> run_training_job("/opt/ml", algorithm="kmeans")      # doctest: +SKIP
0
"""

from sagespark.jobs.layout import JobLayout
from sagespark.jobs.training_job import ALGORITHM_ENV, run_training_job

__all__ = ["ALGORITHM_ENV", "JobLayout", "run_training_job"]
