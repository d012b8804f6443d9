"""The mini-batch loop that trains every parallel model in one pass over the data, data-parallel.

All ``num_models`` models share one ``(feature_dim, num_models × classes)`` float32 weight tensor, so a
mini-batch costs one product for the scores of every model and one for every model's gradient. Each rank
computes the gradient sum of its own mini-batch of ``mini_batch_size`` rows (per worker, as SageMaker's
per-host data iterator); the sums are added over ranks (an allreduce for dense batches; for sparse ones
an allgather of the touched rows, so a step never ships ``feature_dim``-sized arrays) and every rank
applies the same update.
Ranks agree on the number of steps per epoch up front; a rank that runs out of rows contributes zeros.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.linear_learner.hyperparameters import LinearLearnerHyperparameters
>>> from sagespark.algorithms.linear_learner.settings import resolve, model_grid
>>> from sagespark.algorithms.linear_learner.batches import Scaler
>>> from sagespark.distributed.context import LocalContext
>>> hp = LinearLearnerHyperparameters.from_dict({"predictor_type": "regressor", "num_models": 2,
...                                              "learning_rate": 0.1})
>>> s = resolve(hp, sparse=False)
>>> t = Trainer(LocalContext(), s, model_grid(s, 0), Scaler(np.zeros(1), np.ones(1), 0.0, 1.0), 1,
...             positives=0.0, total=4.0, class_counts=None)
>>> x, y = np.array([[0.], [1.], [2.], [3.]], np.float32), np.array([1., 3., 5., 7.])
>>> t.steps = 1
>>> for _ in range(300): _ = t.epoch(x, y, np.random.default_rng(0))
>>> [round(v, 1) for v in t.final_model(0)[0].ravel().tolist() + t.final_model(0)[1].tolist()]
[2.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist

from sagespark.algorithms.base import Matrix
from sagespark.algorithms.linear_learner.batches import Prepared, Scaler, prepare
from sagespark.algorithms.linear_learner.losses import LossParams, loss_and_grad
from sagespark.algorithms.linear_learner.optimizer import MultiOptimizer
from sagespark.algorithms.linear_learner.settings import ModelGrid, Settings
from sagespark.distributed.context import TrainContext

__all__ = ["Trainer", "EVAL_BATCH"]

EVAL_BATCH = 8192
"""Rows per batch when scoring a channel (no gradients: larger batches amortise the per-call cost)."""


class Trainer:
    """Weights, optimizer state and the training step of ``num_models`` linear models."""

    def __init__(
        self,
        ctx: TrainContext,
        s: Settings,
        grid: ModelGrid,
        scaler: Scaler,
        dim: int,
        *,
        positives: float,
        total: float,
        class_counts: np.ndarray | None,
        sparse: bool = False,
    ) -> None:
        self.ctx, self.s, self.scaler, self.dim = ctx, s, scaler, dim
        self._sparse = sparse
        # Inside a Spark barrier task a TorchContext: on the CPU its own collectives reduce a numpy view
        # of one flat tensor; on CUDA devices NCCL reduces the tensor itself (the context made the group).
        self._torch_collectives = getattr(ctx, "backend", None) in ("gloo", "nccl")
        self.device = torch.device(ctx.device)
        m, c = s.num_models, s.classes
        self.columns = m * c
        gen = torch.Generator().manual_seed(int(ctx.seed))
        if s.init_method == "uniform":
            w = (torch.rand(dim, self.columns, generator=gen) * 2.0 - 1.0) * s.init_scale
        else:
            w = torch.randn(dim, self.columns, generator=gen) * s.init_sigma
        self.weights = w.to(self.device)
        self.bias = torch.full((self.columns,), s.init_bias if s.use_bias else 0.0, device=self.device)

        def column(values: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.repeat(values, c).astype(np.float32)).to(self.device)

        self.lr, self.wd, self.l1 = column(grid.learning_rate), column(grid.wd), column(grid.l1)
        self.opt_w = MultiOptimizer(
            s.optimizer,
            self.weights.shape,
            momentum=s.momentum,
            beta_1=s.beta_1,
            beta_2=s.beta_2,
            device=self.device,
        )
        self.opt_b = MultiOptimizer(
            s.optimizer,
            self.bias.shape,
            momentum=s.momentum,
            beta_1=s.beta_1,
            beta_2=s.beta_2,
            device=self.device,
        )
        balanced = (total - positives) / positives if positives > 0 else 1.0
        self.positive_weight = torch.from_numpy(
            np.where(np.isnan(grid.positive_weight), balanced, grid.positive_weight).astype(np.float32)
        ).to(self.device)
        self._unit_positive_weight = bool((self.positive_weight == 1.0).all())
        self.class_weight: torch.Tensor | None = None
        if (
            s.predictor_type == "multiclass_classifier"
            and s.balance_multiclass_weights
            and class_counts is not None
        ):
            cw = np.where(class_counts > 0, total / (c * np.maximum(class_counts, 1.0)), 0.0)
            self.class_weight = torch.from_numpy(cw.astype(np.float32)).to(self.device)
        ys = scaler.label_std
        self.train_params = LossParams(s.margin, s.loss_insensitivity / ys, s.quantile, s.huber_delta / ys)
        self.mean_t = torch.from_numpy(scaler.mean.astype(np.float32)).to(self.device)
        self.inv_t = torch.from_numpy(scaler.inv_std.astype(np.float32)).to(self.device)
        # mini_batch_size is per worker, as SageMaker's per-host data iterator: a step's global batch is
        # mini_batch_size × workers, so adding workers divides the number of synchronised steps.
        self.local_batch = max(1, s.mini_batch_size)
        self.steps = 0
        self.updates = 0

    # -- helpers ---------------------------------------------------------------------------
    def agree_steps(self, rows: int) -> None:
        """Agree on the steps per epoch: the most batches any rank has."""
        local = math.ceil(rows / self.local_batch)
        self.steps = int(self.ctx.allreduce(np.array([local], dtype=np.int64), op="max")[0])

    def _prepare(self, part: Matrix) -> Prepared:
        return prepare(part, self.scaler, self.device, mean_t=self.mean_t, inv_t=self.inv_t)

    def _lr(self) -> torch.Tensor:
        s = self.s
        if not s.use_lr_scheduler:
            return self.lr
        decay = s.lr_scheduler_factor ** (self.updates // s.lr_scheduler_step)
        return torch.minimum(self.lr, (self.lr * decay).clamp_min(s.lr_scheduler_minimum_lr))

    def _label(self, y: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.asarray(y, dtype=np.float32)).to(self.device)
        if self.s.predictor_type == "regressor":
            t = (t - self.scaler.label_mean) / self.scaler.label_std
        return t

    # -- training --------------------------------------------------------------------------
    def epoch(
        self, features: Matrix | None, label: np.ndarray | None, rng: np.random.Generator
    ) -> np.ndarray:
        """One pass; returns the per-model mean (weighted) training loss over all ranks."""
        m, cols = self.s.num_models, self.columns
        n = 0 if features is None else int(features.shape[0])
        starts = rng.permutation(np.arange(0, n, self.local_batch)) if n else np.zeros(0, dtype=np.int64)
        loss_total = np.zeros(m)
        count_total = 0.0
        for step in range(self.steps):
            if step < len(starts):
                assert features is not None and label is not None
                lo = int(starts[step])
                hi = min(n, lo + self.local_batch)
                batch = self._prepare(features[lo:hi])
                grad_w, grad_b, loss_sum = self._gradients(batch, self._label(label[lo:hi]))
                rows, count = batch.rows, float(hi - lo)
            else:
                batch, rows, count = None, None, 0.0
                sparse_idle = self._sparse_mode()
                grad_w = torch.zeros((0 if sparse_idle else self.dim, cols), device=self.device)
                grad_b, loss_sum = torch.zeros(cols, device=self.device), torch.zeros(m, device=self.device)
                rows = torch.zeros(0, dtype=torch.int64, device=self.device) if sparse_idle else None
            grad_w, rows, grad_b, loss_sum, total = self._sum_over_ranks(
                grad_w, rows, grad_b, loss_sum, count
            )
            if total <= 0:
                continue
            loss_total += loss_sum.cpu().numpy()
            count_total += total
            self._apply(grad_w / total, rows, grad_b / total)
        return loss_total / max(count_total, 1.0)

    def _sparse_mode(self) -> bool:
        return self._sparse

    def _gradients(self, batch: Prepared, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.s
        b = batch.num_rows
        scores = batch.forward(self.weights, self.bias).view(b, s.num_models, s.classes)
        loss, grad = loss_and_grad(s.loss, scores, y, self.train_params)
        weight = self._row_weights(y)
        if weight is not None:
            loss = loss * weight
            grad = grad * weight[:, :, None]
        grad = grad.reshape(b, self.columns)
        grad_b = grad.sum(dim=0) if s.use_bias else torch.zeros(self.columns, device=self.device)
        return batch.backward(grad), grad_b, loss.sum(dim=0)

    def _row_weights(self, y: torch.Tensor) -> torch.Tensor | None:
        if self.s.predictor_type == "binary_classifier" and not self._unit_positive_weight:
            return torch.where(
                y[:, None] > 0.5, self.positive_weight[None, :], torch.ones_like(self.positive_weight)
            )
        if self.class_weight is not None:
            return self.class_weight[y.long()][:, None].expand(-1, self.s.num_models)
        return None

    def _sum_over_ranks(
        self,
        grad_w: torch.Tensor,
        rows: torch.Tensor | None,
        grad_b: torch.Tensor,
        loss_sum: torch.Tensor,
        count: float,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor, float]:
        ctx = self.ctx
        if ctx.world_size == 1:
            return grad_w, rows, grad_b, loss_sum, count
        if rows is None and self._torch_collectives:
            # One flat float32 allreduce. NCCL reduces the device tensor in place; on the CPU the context
            # reduces a zero-copy numpy view (through shared memory when every rank is on this host).
            count_t = torch.tensor([count], dtype=torch.float32, device=self.device)
            flat = torch.cat([grad_w.reshape(-1), grad_b, loss_sum.float(), count_t])
            if self.device.type == "cpu":
                flat = torch.from_numpy(ctx.allreduce(flat.numpy()))
            else:
                dist.all_reduce(flat)
            size, cols, m = self.dim * self.columns, self.columns, self.s.num_models
            return (
                flat[:size].view(self.dim, cols),
                None,
                flat[size : size + cols],
                flat[size + cols : size + cols + m],
                float(flat[-1]),
            )
        small = np.concatenate([grad_b.cpu().numpy(), loss_sum.cpu().numpy(), [count]]).astype(np.float64)
        if rows is None:
            packed = np.concatenate([grad_w.cpu().numpy().ravel().astype(np.float64), small])
            out = ctx.allreduce(packed)
            size = self.dim * self.columns
            grad_w = torch.from_numpy(out[:size].astype(np.float32).reshape(self.dim, self.columns))
            small = out[size:]
        else:
            all_rows = ctx.allgather(rows.cpu().numpy().astype(np.int64))
            all_grads = ctx.allgather(grad_w.cpu().numpy().astype(np.float32))
            small = ctx.allreduce(small)
            merged, inverse = np.unique(np.concatenate(all_rows), return_inverse=True)
            summed = torch.zeros((len(merged), self.columns))
            summed.index_add_(
                0,
                torch.from_numpy(inverse.ravel().astype(np.int64)),
                torch.from_numpy(np.concatenate(all_grads, axis=0)),
            )
            grad_w, rows = summed, torch.from_numpy(merged.astype(np.int64))
        cols, m = self.columns, self.s.num_models
        grad_b = torch.from_numpy(small[:cols].astype(np.float32))
        loss_sum = torch.from_numpy(small[cols : cols + m].astype(np.float32))
        dev = self.device
        return (
            grad_w.to(dev),
            None if rows is None else rows.to(dev),
            grad_b.to(dev),
            loss_sum.to(dev),
            float(small[-1]),
        )

    def _apply(self, grad_w: torch.Tensor, rows: torch.Tensor | None, grad_b: torch.Tensor) -> None:
        lr = self._lr()
        self.opt_w.step(self.weights, grad_w, lr=lr, wd=self.wd, l1=self.l1, rows=rows)
        if self.s.use_bias:
            self.opt_b.step(
                self.bias,
                grad_b,
                lr=lr * self.s.bias_lr_mult,
                wd=self.wd * self.s.bias_wd_mult,
                l1=torch.zeros_like(self.l1),
            )
        self.updates += 1

    # -- scoring ---------------------------------------------------------------------------
    def scores(
        self, features: Matrix | None, label: np.ndarray | None, limit: int | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Raw scores ``(rows, models, classes)`` of every model, in label units, with the labels."""
        if features is None or label is None:
            return
        n = int(features.shape[0]) if limit is None else min(int(features.shape[0]), limit)
        s = self.s
        with torch.no_grad():
            for lo in range(0, n, EVAL_BATCH):
                hi = min(n, lo + EVAL_BATCH)
                batch = self._prepare(features[lo:hi])
                out = batch.forward(self.weights, self.bias).view(hi - lo, s.num_models, s.classes)
                raw = out.double().cpu().numpy()
                if s.predictor_type == "regressor":
                    raw = raw * self.scaler.label_std + self.scaler.label_mean
                yield raw, np.asarray(label[lo:hi])

    def snapshot(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.weights.clone(), self.bias.clone()

    def restore(self, state: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.weights, self.bias = state[0].clone(), state[1].clone()

    def final_model(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Model ``index`` in raw feature and label units: weights ``(d, classes)`` and bias ``(classes,)``.

        Normalisation folds into the weights, so the saved model scores raw rows with one product.
        """
        c = self.s.classes
        w = self.weights[:, index * c : (index + 1) * c].double().cpu().numpy()
        b = self.bias[index * c : (index + 1) * c].double().cpu().numpy()
        scaled = w * self.scaler.inv_std[:, None]
        bias = b - self.scaler.mean @ scaled
        ys, ym = self.scaler.label_std, self.scaler.label_mean
        return scaled * ys, bias * ys + ym


def is_sparse(features: Matrix | None) -> bool:
    return features is not None and sp.issparse(features)
