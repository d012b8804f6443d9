"""Negative sampling, IP Insights' way: random IPs and IPs shuffled in from other pairs of the batch.

For every true (entity, IP) pair of a batch, ``random_negative_sampling_rate`` negatives pair the entity
with a uniformly random IPv4 address and ``shuffled_negative_sampling_rate`` negatives pair it with the
IP of another pair of the same batch (never its own row). The discriminator learns true pairs (label 1)
against these (label 0).

Examples
--------
>>> import torch
>>> g = torch.Generator().manual_seed(0)
>>> ent, ip, y = with_negatives(torch.tensor([1, 2]), torch.tensor([10, 20]), random_rate=1,
...                             shuffled_rate=1, generator=g)
>>> ent.tolist(), y.tolist()
([1, 2, 1, 2, 1, 2], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
>>> ip[4:].tolist()   # the shuffled negatives: each row gets the other row's IP
[20, 10]
"""

from __future__ import annotations

import torch

__all__ = ["with_negatives"]

_IPV4_SPACE = 1 << 32


def with_negatives(
    entities: torch.Tensor,
    ips: torch.Tensor,
    *,
    random_rate: int,
    shuffled_rate: int,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The batch's true pairs followed by its negatives, with labels (1.0 true, 0.0 negative).

    Parameters
    ----------
    entities, ips : torch.Tensor
        int64 entity buckets and 32-bit IP values of the true pairs (same device as ``generator``).
    random_rate, shuffled_rate : int
        Negatives per true pair of each kind. Shuffled negatives need two pairs at least; a batch of
        one pair gets none.
    generator : torch.Generator
        The random stream (each rank has its own).
    """
    b = int(entities.shape[0])
    device = entities.device
    ent_parts, ip_parts = [entities], [ips]
    if random_rate and b:
        ent_parts.append(entities.repeat(random_rate))
        ip_parts.append(torch.randint(0, _IPV4_SPACE, (b * random_rate,), generator=generator,
                                      device=device, dtype=torch.int64))
    if shuffled_rate and b > 1:
        ent_parts.append(entities.repeat(shuffled_rate))
        # A shift in [1, b) from each row lands on a different row of the batch.
        shift = torch.randint(1, b, (b * shuffled_rate,), generator=generator, device=device)
        rows = (torch.arange(b, device=device).repeat(shuffled_rate) + shift) % b
        ip_parts.append(ips[rows])
    all_entities = torch.cat(ent_parts)
    labels = torch.zeros(all_entities.shape[0], dtype=torch.float32, device=device)
    labels[:b] = 1.0
    return all_entities, torch.cat(ip_parts), labels
