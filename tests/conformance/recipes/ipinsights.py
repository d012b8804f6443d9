"""IP Insights conformance recipe: entities that log in from their own /24 networks."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

ALGORITHM = "ipinsights"


def _pairs(rng: np.random.Generator, rows: int) -> tuple[np.ndarray, np.ndarray]:
    user = rng.integers(0, 8, rows)
    host = rng.integers(1, 255, rows)
    entity = np.array([f"user-{u}" for u in user], dtype=object)
    ip = np.array([f"10.{u}.{u * 3 % 256}.{h}" for u, h in zip(user, host)], dtype=object)
    return entity, ip


def example(rng: np.random.Generator) -> Example:
    entity, ip = _pairs(rng, 80)
    params = {"num_entity_vectors": 32, "vector_dim": 8, "epochs": 2, "mini_batch_size": 16}
    return Example(params, {"entity": entity[:60], "ip": ip[:60]}, {"entity": entity[60:], "ip": ip[60:]},
                   ("validation:discriminator_auc",))
