"""IP Insights training: data-parallel mini-batch Adam on the discriminator loss.

Every rank hashes its entities and parses its IPs once, then runs the same number of steps per epoch
(the largest shard's batch count; smaller shards draw extra random batches from their own rows). Each
step draws the negatives locally (:mod:`.sampling`), computes the summed binary cross-entropy of true
pairs (label 1) and negatives (label 0) on the dot products, and synchronises gradients:

* the IP encoder's gradients, the loss and the pair count travel in one flat allreduce;
* the entity table's gradients are sparse (a batch touches few rows): every rank's touched rows and
  their gradients are all-gathered and summed per row;

both are divided by the global pair count, so the step equals one large-batch step over all ranks.
The encoder then takes a torch Adam step and the touched entity rows a :class:`.RowAdam` step; all
ranks start from the same seeded weights and apply identical updates, so they stay identical.

Examples
--------
>>> import numpy as np
from sagespark.algorithms.base import ChannelData
>>> from sagespark.distributed.context import LocalContext
>>> from sagespark.algorithms.ipinsights.hyperparameters import IPInsightsHyperparameters
>>> hp = IPInsightsHyperparameters.from_dict({"num_entity_vectors": 8, "vector_dim": 4, "epochs": 1})
>>> data = ChannelData(None, columns={"entity": np.array(["a", "b"], dtype=object),
...                                   "ip": np.array(["1.2.3.4", "5.6.7.8"], dtype=object)})
>>> result = train_ipinsights(LocalContext(), {"train": data}, hp)
>>> result.state.entity_vectors.shape
(8, 4)
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from sagespark.algorithms.base import ChannelData, TrainResult
from sagespark.algorithms.ipinsights.encoding import hash_entities, parse_ipv4
from sagespark.algorithms.ipinsights.evaluation import discriminator_auc
from sagespark.algorithms.ipinsights.network import IPEncoder, init_entity_vectors
from sagespark.algorithms.ipinsights.optim import RowAdam
from sagespark.algorithms.ipinsights.sampling import with_negatives
from sagespark.algorithms.torch_threads import one_intra_op_thread
from sagespark.distributed.context import TrainContext
from sagespark.errors import DataFormatError
from sagespark.hyperparams import Hyperparameters

__all__ = ["IPInsightsState", "train_ipinsights", "encode_pairs"]

_THREADED_VALUES = 1 << 22
_SHIFTS = torch.tensor([24, 16, 8, 0], dtype=torch.int64)


@dataclass
class IPInsightsState:
    """The trained model: the entity table and the IP encoder's weights (float32 numpy arrays)."""

    entity_vectors: np.ndarray
    octet_embeddings: np.ndarray
    layer_weights: list[np.ndarray] = field(default_factory=list)
    layer_biases: list[np.ndarray] = field(default_factory=list)


def encode_pairs(data: ChannelData, num_entity_vectors: int, channel: str, *, shard: str = ""
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(entity buckets, IPv4 values) of a channel, both int64.

    ``shard`` (e.g. ``", worker 1's shard"``) tells errors which part of the data their row counts in.

    Raises
    ------
    DataFormatError
        When the ``entity`` or ``ip`` column is missing, or an IP is not a valid IPv4 address (naming the
        channel and row).
    """
    for name in ("entity", "ip"):
        if name not in data.columns:
            raise DataFormatError(
                f"IP Insights' {channel!r} channel needs the string input {name!r}; it has "
                f"{sorted(data.columns)}."
            )
    ips = parse_ipv4(data.columns["ip"], column=f"ip ({channel} channel{shard})")
    entities = hash_entities(data.columns["entity"], num_entity_vectors,
                             column=f"entity ({channel} channel{shard})")
    return entities, ips


class _Discriminator:
    """The trainable state of one rank: entity table, IP encoder and their optimisers."""

    def __init__(self, ctx: TrainContext, hp: Hyperparameters, device: torch.device) -> None:
        init = torch.Generator().manual_seed(int(ctx.seed))  # same seed on every rank: same start
        dim = int(hp["vector_dim"])
        self.entity_vectors = init_entity_vectors(int(hp["num_entity_vectors"]), dim, init).to(device)
        self.encoder = IPEncoder(dim, int(hp["num_ip_encoder_layers"]), init).to(device)
        self.dense = torch.optim.Adam(self.encoder.parameters(), lr=hp["learning_rate"],
                                      weight_decay=hp["weight_decay"])
        self.rows = RowAdam(self.entity_vectors, lr=hp["learning_rate"], weight_decay=hp["weight_decay"])
        self.shifts = _SHIFTS.to(device)

    def ip_embeddings(self, ips: torch.Tensor) -> torch.Tensor:
        return self.encoder((ips[:, None] >> self.shifts[None, :]) & 0xFF)

    def score(self, entities: torch.Tensor, ips: torch.Tensor) -> torch.Tensor:
        return (self.entity_vectors[entities] * self.ip_embeddings(ips)).sum(dim=1)

    def state(self) -> IPInsightsState:
        octets, weights, biases = self.encoder.numpy_weights()
        table = np.ascontiguousarray(self.entity_vectors.cpu().numpy(), dtype=np.float32)
        return IPInsightsState(table, octets, weights, biases)


def _step(ctx: TrainContext, model: _Discriminator, entities: torch.Tensor, ips: torch.Tensor,
          labels: torch.Tensor) -> tuple[float, float]:
    """One synchronised optimisation step; returns this step's global (loss sum, pair count)."""
    model.dense.zero_grad(set_to_none=False)
    device = model.entity_vectors.device
    if entities.numel():
        unique, inverse = torch.unique(entities, return_inverse=True)
        rows = model.entity_vectors[unique].clone().requires_grad_(True)
        logits = (rows[inverse] * model.ip_embeddings(ips)).sum(dim=1)
        loss = F.binary_cross_entropy_with_logits(logits, labels, reduction="sum")
        loss.backward()
        assert rows.grad is not None
        row_grads, loss_sum = rows.grad, float(loss.detach())
    else:  # an empty shard still takes part in every collective
        unique = torch.zeros(0, dtype=torch.int64, device=device)
        row_grads = torch.zeros(0, model.entity_vectors.shape[1], device=device)
        loss_sum = 0.0
    params = list(model.encoder.parameters())
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    extras = torch.tensor([loss_sum, float(entities.numel())], device=device)
    flat = torch.cat([g.reshape(-1) for g in grads] + [extras])
    if ctx.world_size > 1:
        flat = torch.from_numpy(ctx.allreduce(flat.cpu().numpy())).to(device)
        gathered_rows = ctx.allgather(unique.cpu().numpy())
        gathered_grads = ctx.allgather(row_grads.detach().cpu().numpy())
        all_rows = torch.from_numpy(np.concatenate(gathered_rows)).to(device)
        all_grads = torch.from_numpy(np.concatenate(gathered_grads)).to(device)
        unique, inverse = torch.unique(all_rows, return_inverse=True)
        row_grads = torch.zeros(unique.shape[0], all_grads.shape[1], device=device).index_add_(
            0, inverse, all_grads)
    loss_total, count = float(flat[-2]), float(flat[-1])
    if count == 0:
        return 0.0, 0.0
    offset = 0
    for p in params:
        size = p.numel()
        p.grad = (flat[offset : offset + size] / count).view_as(p).to(p.dtype)
        offset += size
    model.dense.step()
    model.rows.step(unique, row_grads.detach() / count)
    return loss_total, count


def train_ipinsights(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    """Train IP Insights on this rank's shards of ``train`` (and score ``validation`` if given).

    Every rank must call it. Returns rank 0's state and ``validation:discriminator_auc`` when any rank
    has validation pairs.
    """
    rates = int(hp["random_negative_sampling_rate"]) + int(hp["shuffled_negative_sampling_rate"])
    values = int(hp["mini_batch_size"]) * (1 + rates) * int(hp["vector_dim"])
    # Below a few million values per step a thread team costs more than it saves.
    with one_intra_op_thread(torch.device(ctx.device).type == "cpu" and values < _THREADED_VALUES):
        return _train(ctx, data, hp)


def _train(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    device = torch.device(ctx.device)
    shard = f", worker {ctx.rank}'s shard" if ctx.world_size > 1 else ""
    buckets = int(hp["num_entity_vectors"])
    entities_np, ips_np = encode_pairs(data["train"], buckets, "train", shard=shard)
    validation = data.get("validation")
    val_np = encode_pairs(validation, buckets, "validation", shard=shard) if validation else None
    total_rows = int(ctx.allreduce(np.array([len(entities_np)], dtype=np.int64))[0])
    if total_rows == 0:
        raise DataFormatError("IP Insights' 'train' channel is empty: expected (entity, IP) pairs.")
    val_rows = len(val_np[0]) if val_np is not None else 0
    has_validation = int(ctx.allreduce(np.array([val_rows], dtype=np.int64))[0]) > 0

    model = _Discriminator(ctx, hp, device)
    entities = torch.from_numpy(entities_np).to(device)
    ips = torch.from_numpy(ips_np).to(device)
    sampler = torch.Generator(device=device).manual_seed(int(ctx.seed) * 1_000_003 + 7919 * ctx.rank + 1)
    order = torch.Generator().manual_seed(int(ctx.seed) + 31 * ctx.rank)
    n, batch = len(entities_np), int(hp["mini_batch_size"])
    local_steps = -(-n // batch)
    steps = int(ctx.allreduce(np.array([local_steps], dtype=np.int64), op="max")[0])
    rates = {"random_rate": int(hp["random_negative_sampling_rate"]),
             "shuffled_rate": int(hp["shuffled_negative_sampling_rate"])}
    interval = int(hp["batch_metrics_publish_interval"])
    metrics: dict[str, float] = {}
    ctx.log(f"IP Insights: {total_rows} pairs over {ctx.world_size} worker(s), {steps} batches per epoch, "
            f"{hp['epochs']} epochs, device {device}.")
    for epoch in range(1, int(hp["epochs"]) + 1):
        started = time.monotonic()
        perm = torch.randperm(n, generator=order).to(device) if n else entities
        loss_sum = pairs = 0.0
        model.encoder.train()
        for step in range(steps):
            if step < local_steps:
                rows = perm[step * batch : (step + 1) * batch]
            elif n:  # this shard ran out: draw one more batch of its own rows, so all ranks step together
                rows = perm[torch.randint(0, n, (min(batch, n),), generator=order).to(device)]
            else:
                rows = perm
            pair_entities, pair_ips, labels = with_negatives(entities[rows], ips[rows], generator=sampler,
                                                             **rates)
            step_loss, step_pairs = _step(ctx, model, pair_entities, pair_ips, labels)
            loss_sum += step_loss
            pairs += step_pairs
            if (step + 1) % interval == 0:
                ctx.log(f"epoch {epoch} batch {step + 1}/{steps}: loss={loss_sum / max(pairs, 1):.5f}")
        elapsed = time.monotonic() - started
        ctx.log(f"epoch {epoch}: train loss={loss_sum / max(pairs, 1.0):.5f}, "
                f"{pairs / max(elapsed, 1e-9):.0f} pairs/s")
        if has_validation:
            model.encoder.eval()
            val_entities = torch.from_numpy(val_np[0] if val_np else np.zeros(0, np.int64)).to(device)
            val_ips = torch.from_numpy(val_np[1] if val_np else np.zeros(0, np.int64)).to(device)
            auc = discriminator_auc(ctx, model.score, val_entities, val_ips,
                                    seed=int(ctx.seed) + 17 * ctx.rank, **rates)
            metrics["validation:discriminator_auc"] = auc
            ctx.log_metric("validation:discriminator_auc", auc, epoch=epoch)
    return TrainResult(model.state(), {k: v for k, v in metrics.items() if math.isfinite(v)})
