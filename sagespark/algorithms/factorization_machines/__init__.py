"""SageMaker's Factorization Machines (registered as ``"factorization-machines"``).

Examples
--------
>>> from sagespark.algorithms.factorization_machines import FactorizationMachines
>>> FactorizationMachines.name, [f.name for f in FactorizationMachines.outputs]
('factorization-machines', ['score', 'predicted_label'])
"""

from sagespark.algorithms.factorization_machines.algorithm import FactorizationMachines
from sagespark.algorithms.factorization_machines.hyperparameters import (
    FactorizationMachinesHyperparameters,
)
from sagespark.algorithms.factorization_machines.model import FMState
from sagespark.algorithms.factorization_machines.predict import FMPredictor

__all__ = ["FactorizationMachines", "FactorizationMachinesHyperparameters", "FMPredictor", "FMState"]
