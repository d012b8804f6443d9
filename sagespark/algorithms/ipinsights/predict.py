"""IP Insights inference and the model payload (``ipinsights.npz`` + ``ipinsights.json``, no pickle).

Inference needs numpy only: entities are hashed and IPs parsed exactly as in training, the IP encoder
runs in numpy (:func:`.encode_ips_numpy`), and the score is the dot product of the two embeddings.

Examples
--------
>>> import numpy as np
>>> state = IPInsightsState(np.ones((4, 4), np.float32), np.zeros((1024, 4), np.float32))
>>> predictor = IPInsightsPredictor(state)
>>> out = predictor.predict({"entity": np.array(["a"], dtype=object),
...                          "ip": np.array(["1.2.3.4"], dtype=object)}, verbose=True)
>>> out["dot_product"].tolist(), out["ip_embedding"].shape
([0.0], (1, 4))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sagespark.algorithms.base import Predictor
from sagespark.algorithms.ipinsights.encoding import hash_entities, octets, parse_ipv4
from sagespark.algorithms.ipinsights.network import encode_ips_numpy
from sagespark.algorithms.ipinsights.train import IPInsightsState
from sagespark.errors import ArtifactError, DataFormatError

__all__ = ["IPInsightsPredictor", "save_state", "load_state", "WEIGHTS_FILE", "META_FILE", "FORMAT"]

WEIGHTS_FILE = "ipinsights.npz"
META_FILE = "ipinsights.json"
FORMAT = {"entity_hash": "poly64-fnv-fmix64/v1", "ip_encoder": "octet-sum-residual-mlp/v1"}
"""How entities are hashed and IPs encoded; a model written with another scheme is refused on load."""

_CHUNK = 65_536  # rows per inference block: bounds the gathered embedding rows in memory


class IPInsightsPredictor(Predictor):
    """Scores (entity, IP) pairs: ``dot_product``; verbose adds ``entity_embedding`` and ``ip_embedding``.

    Higher dot products mean the pair looks more like the training data (a usual pair); an unusual
    pair scores low.
    """

    def __init__(self, state: IPInsightsState) -> None:
        self.state = state
        self.num_entity_vectors = int(state.entity_vectors.shape[0])

    @property
    def feature_dim(self) -> int | None:
        return None

    def _column(self, batch: Mapping[str, Any], name: str) -> Any:
        if name not in batch or batch[name] is None:
            raise DataFormatError(
                f"IP Insights prediction needs the string inputs 'entity' and 'ip'; {name!r} is missing "
                f"(got {sorted(batch)})."
            )
        return batch[name]

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        entity, ip = self._column(batch, "entity"), self._column(batch, "ip")
        if len(entity) != len(ip):
            raise DataFormatError(
                "Inputs 'entity' and 'ip' must have the same number of rows; "
                f"got {len(entity)} and {len(ip)}."
            )
        ips = parse_ipv4(ip, column="ip")
        buckets = hash_entities(entity, self.num_entity_vectors, column="entity")
        n = len(ips)
        dim = int(self.state.entity_vectors.shape[1])
        dot = np.empty(n, dtype=np.float64)
        entity_out = np.empty((n, dim), dtype=np.float32) if verbose else None
        ip_out = np.empty((n, dim), dtype=np.float32) if verbose else None
        s = self.state
        for start in range(0, n, _CHUNK):
            stop = min(n, start + _CHUNK)
            e = s.entity_vectors[buckets[start:stop]]
            v = encode_ips_numpy(octets(ips[start:stop]), s.octet_embeddings, s.layer_weights, s.layer_biases)
            dot[start:stop] = np.einsum("ij,ij->i", e, v)
            if entity_out is not None and ip_out is not None:
                entity_out[start:stop] = e
                ip_out[start:stop] = v
        out: dict[str, np.ndarray] = {"dot_product": dot}
        if entity_out is not None and ip_out is not None:
            out["entity_embedding"] = entity_out
            out["ip_embedding"] = ip_out
        return out


def save_state(state: IPInsightsState, directory: Path) -> None:
    """Write the weights (``.npz``, arrays only) and the encoding scheme (JSON)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "entity_vectors": state.entity_vectors, "octet_embeddings": state.octet_embeddings,
    }
    for i, (w, b) in enumerate(zip(state.layer_weights, state.layer_biases)):
        arrays[f"layer_{i}_weight"], arrays[f"layer_{i}_bias"] = w, b
    contiguous: dict[str, Any] = {k: np.ascontiguousarray(v, np.float32) for k, v in arrays.items()}
    np.savez(directory / WEIGHTS_FILE, **contiguous)
    meta = {**FORMAT, "num_ip_encoder_layers": len(state.layer_weights)}
    (directory / META_FILE).write_text(json.dumps(meta, indent=2))


def load_state(directory: Path, *, num_entity_vectors: int, vector_dim: int, layers: int) -> IPInsightsState:
    """Read the payload without pickle and check it against the hyperparameters.

    Raises
    ------
    ArtifactError
        When a file is missing or unreadable, the encoding scheme is unknown, or a shape disagrees with
        the hyperparameters.
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / META_FILE).read_text())
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as err:
        raise ArtifactError(f"Cannot read the IP Insights model in {directory}: {err}") from None
    if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in FORMAT.items()):
        raise ArtifactError(f"{directory / META_FILE} names an unknown encoding {meta!r}; expected {FORMAT}.")
    expected: dict[str, tuple[int, ...]] = {
        "entity_vectors": (num_entity_vectors, vector_dim), "octet_embeddings": (1024, vector_dim),
    }
    for i in range(layers):
        expected[f"layer_{i}_weight"] = (vector_dim, vector_dim)
        expected[f"layer_{i}_bias"] = (vector_dim,)
    got = {k: tuple(v.shape) for k, v in arrays.items()}
    if got != expected or any(v.dtype != np.float32 for v in arrays.values()):
        raise ArtifactError(
            f"{directory / WEIGHTS_FILE} holds arrays {got}; the hyperparameters (num_entity_vectors="
            f"{num_entity_vectors}, vector_dim={vector_dim}, num_ip_encoder_layers={layers}) need {expected} "
            "as float32."
        )
    return IPInsightsState(
        arrays["entity_vectors"], arrays["octet_embeddings"],
        [arrays[f"layer_{i}_weight"] for i in range(layers)],
        [arrays[f"layer_{i}_bias"] for i in range(layers)],
    )  # fmt: skip
