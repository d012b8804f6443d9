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
from sagespark.algorithms.factorization_machines.optimizer import ScalarAdam, SparseAdam
from sagespark.hyperparams import Hyperparameters

__all__ = ["FMParameters"]


def _initial(spec: InitSpec, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if spec.method == "normal":
        return rng.normal(0.0, spec.amount, size=shape)
    if spec.method == "uniform":
        return rng.uniform(-spec.amount, spec.amount, size=shape)
    return np.full(shape, spec.amount)


class FMParameters:
    """The global bias and a ``feature_dim × 3(1 + k)`` state: ``[w | V]``, then its two Adam moments.

    :attr:`table` is the ``[w | V]`` view (column 0: linear weights) the kernels read.
    """

    def __init__(self, predictor_type: str, bias: float, state: torch.Tensor, bias_opt: ScalarAdam,
                 table_opt: SparseAdam) -> None:
        self.predictor_type = predictor_type
        self.bias, self.state = bias, state
        self.width = state.shape[1] // 3
        self.table = state[:, :self.width]
        self.bias_opt, self.table_opt = bias_opt, table_opt
        self.steps = 0

    @classmethod
    def initial(cls, hp: Hyperparameters, *, feature_dim: int, seed: int, device: str) -> FMParameters:
        """Parameters initialised as ``*_init_*`` say; the same ``seed`` gives the same replica."""
        k = int(hp["num_factors"])
        specs = {term: init_spec(hp, term) for term in ("bias", "linear", "factors")}
        settings = optimizer_settings(hp)
        rng = np.random.default_rng([seed, 17])
        bias = float(_initial(specs["bias"], (1,), rng)[0])
        state = np.zeros((feature_dim, 3 * (1 + k)), dtype=np.float32)
        state[:, 0] = _initial(specs["linear"], (feature_dim,), rng)
        state[:, 1:1 + k] = _initial(specs["factors"], (feature_dim, k), rng)

        def per_column(values: dict[str, float]) -> torch.Tensor:
            return torch.tensor([values["linear"]] + [values["factors"]] * k, device=device)

        table_opt = SparseAdam(per_column(settings.lr), per_column(settings.wd), settings.eps, settings.clip)
        bias_opt = ScalarAdam(settings.lr["bias"], settings.wd["bias"], settings.eps, settings.clip)
        return cls(hp["predictor_type"], bias, torch.from_numpy(state).to(device), bias_opt, table_opt)

    def update(self, bias_grad: float, cols: torch.Tensor, rows: torch.Tensor, scale: float) -> None:
        """One Adam step from summed gradients: the bias and the table rows ``cols``."""
        self.steps += 1
        # float32 like the table, so a saved model scores exactly as it trained.
        self.bias = float(np.float32(self.bias_opt.step(self.bias, bias_grad, step=self.steps, scale=scale)))
        self.table_opt.step_rows(self.state, cols, rows, step=self.steps, scale=scale)

    def to_state(self) -> FMState:
        """The model as numpy arrays (what rank 0 saves)."""
        table = self.table.cpu().numpy()
        return FMState(self.predictor_type, self.bias, table[:, 0].copy(), table[:, 1:].copy())
