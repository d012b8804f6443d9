"""The FM parameters during training: bias, the ``[w | V]`` table, their Adam moments and updates.

Examples
--------
>>> from sagespark.algorithms.factorization_machines.hyperparameters import (
...     FactorizationMachinesHyperparameters)
>>> hp = FactorizationMachinesHyperparameters.from_dict(
...     {"num_factors": 2, "predictor_type": "regressor", "feature_dim": 3})
>>> params = FMParameters.initial(hp, feature_dim=3, seed=0, device="cpu")
>>> tuple(params.table.shape), params.to_state().factors.shape
((3, 3), (3, 2))
"""

from __future__ import annotations

import numpy as np
import torch

from sagespark.algorithms.factorization_machines.hyperparameters import (
    InitSpec,
    init_spec,
    optimizer_settings,
)
from sagespark.algorithms.factorization_machines.model import FMState
from sagespark.algorithms.factorization_machines.optimizer import SparseAdam
from sagespark.hyperparams import Hyperparameters

__all__ = ["FMParameters"]


def _initial(spec: InitSpec, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if spec.method == "normal":
        return rng.normal(0.0, spec.amount, size=shape)
    if spec.method == "uniform":
        return rng.uniform(-spec.amount, spec.amount, size=shape)
    return np.full(shape, spec.amount)


class FMParameters:
    """Bias ``(1, 1)`` and table ``(feature_dim, 1 + k)`` (column 0: linear weights) with lazy Adam."""

    def __init__(self, predictor_type: str, bias: torch.Tensor, table: torch.Tensor,
                 bias_opt: SparseAdam, table_opt: SparseAdam) -> None:
        self.predictor_type = predictor_type
        self.bias, self.table = bias, table
        self.bias_opt, self.table_opt = bias_opt, table_opt
        self._bias_moments = (torch.zeros_like(bias), torch.zeros_like(bias))
        self._moments = (torch.zeros_like(table), torch.zeros_like(table))
        self._bias_row = torch.zeros(1, dtype=torch.int64, device=bias.device)
        self.steps = 0

    @classmethod
    def initial(cls, hp: Hyperparameters, *, feature_dim: int, seed: int, device: str) -> FMParameters:
        """Parameters initialised as ``*_init_*`` say; the same ``seed`` gives the same replica."""
        k = int(hp["num_factors"])
        specs = {term: init_spec(hp, term) for term in ("bias", "linear", "factors")}
        settings = optimizer_settings(hp)
        rng = np.random.default_rng([seed, 17])
        bias = torch.tensor([[float(_initial(specs["bias"], (1,), rng)[0])]], dtype=torch.float32)
        table = np.empty((feature_dim, 1 + k), dtype=np.float32)
        table[:, 0] = _initial(specs["linear"], (feature_dim,), rng)
        table[:, 1:] = _initial(specs["factors"], (feature_dim, k), rng)

        def per_column(values: dict[str, float]) -> torch.Tensor:
            return torch.tensor([values["linear"]] + [values["factors"]] * k, device=device)

        table_opt = SparseAdam(per_column(settings.lr), per_column(settings.wd), settings.eps, settings.clip)
        bias_opt = SparseAdam(torch.tensor([settings.lr["bias"]], device=device),
                              torch.tensor([settings.wd["bias"]], device=device), settings.eps, settings.clip)
        return cls(hp["predictor_type"], bias.to(device), torch.from_numpy(table).to(device), bias_opt,
                   table_opt)

    @property
    def w0(self) -> torch.Tensor:
        return self.bias[0, 0]

    def update(self, bias_grad: torch.Tensor, cols: torch.Tensor, rows: torch.Tensor, scale: float) -> None:
        """One Adam step from summed gradients: the bias and the table rows ``cols``."""
        self.steps += 1
        self.bias_opt.step_rows(self.bias, *self._bias_moments, self._bias_row,
                                bias_grad.reshape(1, 1).to(self.bias.dtype), step=self.steps, scale=scale)
        self.table_opt.step_rows(self.table, *self._moments, cols, rows, step=self.steps, scale=scale)

    def to_state(self) -> FMState:
        """The model as numpy arrays (what rank 0 saves)."""
        table = self.table.cpu().numpy()
        return FMState(self.predictor_type, float(self.w0), table[:, 0].copy(), table[:, 1:].copy())
