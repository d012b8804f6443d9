"""A generated population for IP Insights tests: entities that each log in from a few home networks.

Every entity owns one to three /24 networks; its logins come from random hosts of those networks. The
held-out set mixes normal pairs (an entity with a new host of one of its own networks) and anomalous
pairs (an entity with a uniformly random IPv4 address).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sagespark.algorithms.ipinsights.encoding import format_ipv4


@dataclass
class Population:
    train_entity: np.ndarray
    train_ip: np.ndarray
    test_entity: np.ndarray
    test_ip: np.ndarray
    test_anomalous: np.ndarray  # 1.0 for the random-IP pairs


def population(rng: np.random.Generator, *, entities: int = 300, logins: int = 30,
               test_per_entity: int = 4) -> Population:
    """``entities × logins`` training pairs, ``entities × test_per_entity`` held-out ones (half anomalous)."""
    count = rng.integers(1, 4, entities)
    networks = rng.integers(1 << 8, 1 << 24, (entities, 3)) << 8  # /24 prefixes (first octet ≥ 1)
    names = np.array([f"user-{i:05d}" for i in range(entities)], dtype=object)

    def pairs(per_entity: int) -> tuple[np.ndarray, np.ndarray]:
        who = np.repeat(np.arange(entities), per_entity)
        which = rng.integers(0, count[who])
        return who, networks[who, which] + rng.integers(1, 255, who.shape[0])

    who, ips = pairs(logins)
    order = rng.permutation(who.shape[0])
    test_who, test_ips = pairs(test_per_entity)
    anomalous = (np.arange(test_who.shape[0]) % 2).astype(np.float64)
    random_ips = rng.integers(1 << 24, 1 << 32, test_who.shape[0])
    test_ips = np.where(anomalous > 0, random_ips, test_ips)
    return Population(names[who[order]], format_ipv4(ips[order]), names[test_who], format_ipv4(test_ips),
                      anomalous)
