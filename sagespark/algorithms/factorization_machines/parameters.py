"""The FM parameters during training: bias, the ``[w | V]`` table, their Adam moments and updates.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.factorization_machines.hyperparameters import (
...     FactorizationMachinesHyperparameters)
>>> hp = FactorizationMachinesHyperparameters.from_dict(
...     {"num_factors": 2, "predictor_type": "regressor", "feature_dim": 3, "linear_lr": 0.1})
>>> params = FMParameters.initial(hp, feature_dim=3, seed=0)
>>> packet = np.array([[0, 0.0, 1.0, 0.0], [0, 5.0, 0.0, 0.0]], dtype=np.float32)  # 1 row
>>> packet.view(np.int32)[:, 0] = [-1, 2]                                      # feature 2: ∂/∂w = 5
>>> before = float(params.table[2, 0])
>>> params.update([packet], rescale=None)
(1.0, 0.0)
>>> round(before - float(params.table[2, 0]), 4)                      # Adam's first step: lr
0.1
"""

from __future__ import annotations

import numpy as np

from sagespark.algorithms.factorization_machines.fused import adam_rows, clear_slots, merge_packets
from sagespark.algorithms.factorization_machines.hyperparameters import (
    InitSpec,
    init_spec,
    optimizer_settings,
)
from sagespark.algorithms.factorization_machines.model import FMState
from sagespark.algorithms.factorization_machines.optimizer import ScalarAdam, correction
from sagespark.distributed.context import TrainContext
from sagespark.hyperparams import Hyperparameters

__all__ = ["FMParameters"]


def _initial(spec: InitSpec, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if spec.method == "normal":
        return rng.normal(0.0, spec.amount, size=shape)
    if spec.method == "uniform":
        return rng.uniform(-spec.amount, spec.amount, size=shape)
    return np.full(shape, spec.amount)


def _row_floats(width: int) -> int:
    """Floats per state row: ``[θ | m | v]`` rounded up to whole 64-byte cache lines."""
    return -(-3 * width // 16) * 16


def _line_aligned_zeros(shape: tuple[int, int]) -> np.ndarray:
    """Zeroed float32 rows that start on a cache line.

    numpy's allocations start 16 bytes into a line as often as not, which spreads every 128-byte row
    over three lines instead of two: a third more memory traffic per touched row (an epoch measured
    ~60 % slower).
    """
    size = shape[0] * shape[1]
    raw = np.zeros(size + 16, dtype=np.float32)
    skip = (-raw.ctypes.data % 64) // 4
    return raw[skip:skip + size].reshape(shape)


class FMParameters:
    """The global bias and a float32 state whose rows are ``[w_i, v_i | m | v | padding]``.

    :attr:`table` is the ``[w | V]`` view (column 0: linear weights); the compiled step
    (:mod:`.fused`) reads and updates :attr:`state` directly. A rank updates the rows whose feature id
    modulo ``owners`` is ``owner``: all rows for a private replica (``0`` of ``1``), its share of a
    table that the ranks of one host keep in shared memory (:attr:`shared`).
    """

    def __init__(self, predictor_type: str, bias: float, state: np.ndarray, bias_opt: ScalarAdam,
                 lr: np.ndarray, wd: np.ndarray, eps: float, clip: float | None, *, owner: int = 0,
                 owners: int = 1) -> None:
        self.predictor_type = predictor_type
        self.owner, self.owners = owner, owners
        self.bias, self.state = bias, state
        self.width = lr.shape[0]
        self.table = state[:, :self.width]
        self.bias_opt = bias_opt
        self.lr, self.wd, self.eps = lr, wd, eps
        self.clip = -1.0 if clip is None else clip  # the compiled update reads ≤ 0 as "no clipping"
        self.steps = 0
        # Scratch reused every step: the feature → slot map of the compiled loops (all −1 between
        # calls), the merged features and their summed gradients (grown on demand).
        self.slots = np.full(state.shape[0], -1, dtype=np.int32)
        self._ids = np.zeros(0, dtype=np.int64)
        self._sums = np.zeros((0, self.width))
        self._header = np.zeros(3)

    @classmethod
    def initial(cls, hp: Hyperparameters, *, feature_dim: int, seed: int,
                ctx: TrainContext | None = None) -> FMParameters:
        """Parameters initialised as ``*_init_*`` say; the same ``seed`` gives the same replica.

        With a ``ctx`` whose ranks can share memory (:meth:`TrainContext.shared_array`), the ranks keep
        one state: rank 0 initialises it, and each rank then updates the rows it owns. Every rank of
        ``ctx`` must call this.
        """
        k = int(hp["num_factors"])
        specs = {term: init_spec(hp, term) for term in ("bias", "linear", "factors")}
        settings = optimizer_settings(hp)
        shape = (feature_dim, _row_floats(1 + k))
        state = ctx.shared_array(shape, np.float32) if ctx is not None and ctx.world_size > 1 else None
        owner, owners = (0, 1) if ctx is None or state is None else (ctx.rank, ctx.world_size)
        if state is None:
            state = _line_aligned_zeros(shape)
        rng = np.random.default_rng([seed, 17])
        bias = float(_initial(specs["bias"], (1,), rng)[0])
        if owner == 0:  # a private replica, or rank 0 for the shared table
            state[:, 0] = _initial(specs["linear"], (feature_dim,), rng)
            state[:, 1:1 + k] = _initial(specs["factors"], (feature_dim, k), rng)
        if ctx is not None and owners > 1:
            ctx.barrier()  # rank 0's initial values are in place before any rank reads them

        def per_column(values: dict[str, float]) -> np.ndarray:
            return np.array([values["linear"]] + [values["factors"]] * k, dtype=np.float32)

        bias_opt = ScalarAdam(settings.lr["bias"], settings.wd["bias"], settings.eps, settings.clip)
        return cls(hp["predictor_type"], bias, state, bias_opt, per_column(settings.lr),
                   per_column(settings.wd), settings.eps, settings.clip, owner=owner, owners=owners)

    @property
    def shared(self) -> bool:
        """Whether the ranks share this state (each updating its own rows) rather than each holding all."""
        return self.owners > 1

    def update(self, packets: list[np.ndarray], rescale: float | None) -> tuple[float, float]:
        """One Adam step from the ranks' packets (:mod:`.fused`); returns the step's ``(rows, loss)``.

        ``rescale`` multiplies the summed gradients; ``None`` means ``1 / rows`` (the mean). Only the
        rows this rank owns move; with a :attr:`shared` state the caller waits for every rank before
        the table is read again.
        """
        rows_in = sum(p.shape[0] for p in packets)
        if self._ids.shape[0] < rows_in:
            self._ids = np.zeros(rows_in, dtype=np.int64)
            self._sums = np.zeros((rows_in, self.width))
        self._header[:] = 0.0
        n = 0
        for packet in packets:  # in rank order: every rank sums in the same order
            n = merge_packets(packet, packet.view(np.int32), self.slots, self._ids, self._sums,
                              self._header, self.owner, self.owners, n)
        clear_slots(self.slots, self._ids, n)
        bias_grad, rows, loss = (float(v) for v in self._header)
        if rows <= 0:
            return rows, loss
        self.steps += 1
        scale = rescale if rescale is not None else 1.0 / rows
        # float32 like the table, so a saved model scores exactly as it trained.
        self.bias = float(np.float32(self.bias_opt.step(self.bias, bias_grad, step=self.steps, scale=scale)))
        adam_rows(self.state, self.width, self._ids, self._sums, n, self.lr, self.wd, self.eps, self.clip,
                  correction(self.steps), scale)
        return rows, loss

    def to_state(self) -> FMState:
        """The model as numpy arrays (what rank 0 saves)."""
        return FMState(self.predictor_type, self.bias, self.table[:, 0].copy(), self.table[:, 1:].copy())
