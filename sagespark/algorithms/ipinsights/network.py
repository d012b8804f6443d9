"""The IP Insights network: an entity embedding table and an IP encoder, scored by their dot product.

The IP encoder embeds each of the four octets with its own table (``4 × 256`` rows of ``vector_dim``),
sums them, and passes the result through ``num_ip_encoder_layers`` fully connected layers. Each layer
is residual (``h + W·relu(h) + b``), so deep stacks stay trainable and the output can take any sign (the
dot product needs both). With zero layers the IP embedding is the octet sum itself.

:class:`IPEncoder` is the torch module trained on the workers; :func:`encode_ips_numpy` is the same
function in numpy, used at inference so a loaded model needs no torch.

Examples
--------
>>> import numpy as np
>>> import torch
>>> encoder = IPEncoder(dim=8, layers=1, generator=torch.Generator().manual_seed(0))
>>> quads = np.array([[10, 0, 0, 1]])
>>> a = encoder(torch.from_numpy(quads)).detach().numpy()
>>> b = encode_ips_numpy(quads, *encoder.numpy_weights())
>>> bool(np.allclose(a, b, atol=1e-6))
True
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = ["IPEncoder", "encode_ips_numpy", "init_entity_vectors", "OCTET_OFFSETS"]

OCTET_OFFSETS = np.array([0, 256, 512, 768], dtype=np.int64)
"""Row offset of each octet position's table inside the one ``1024 × vector_dim`` embedding matrix."""


def _init_scale(dim: int) -> float:
    # Entity and octet vectors of std dim^-1/2 give initial dot products of std ~ 2/sqrt(dim):
    # small enough for a calm start, large enough for useful gradients on both sides.
    return 1.0 / math.sqrt(dim)


def init_entity_vectors(num: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """The initial ``num × dim`` entity table (the same on every rank for the same generator seed)."""
    return torch.randn(num, dim, generator=generator) * _init_scale(dim)


class IPEncoder(torch.nn.Module):
    """Octet embeddings summed, then ``layers`` residual fully connected layers.

    Parameters
    ----------
    dim : int
        ``vector_dim``.
    layers : int
        ``num_ip_encoder_layers``.
    generator : torch.Generator
        Seeds the initial weights (ranks share a seed, so they start identical).
    """

    def __init__(self, dim: int, layers: int, generator: torch.Generator) -> None:
        super().__init__()
        scale = _init_scale(dim)
        self.octet_embeddings = torch.nn.Parameter(torch.randn(1024, dim, generator=generator) * scale)
        # Small initial layer weights: each residual layer starts close to the identity.
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.randn(dim, dim, generator=generator) * (0.1 * scale))
            for _ in range(layers)
        )
        self.biases = torch.nn.ParameterList(torch.nn.Parameter(torch.zeros(dim)) for _ in range(layers))
        self.offsets: torch.Tensor
        self.register_buffer("offsets", torch.from_numpy(OCTET_OFFSETS), persistent=False)

    def forward(self, quads: torch.Tensor) -> torch.Tensor:
        """IP embeddings (``n × dim``) of ``n × 4`` octet indices."""
        h = self.octet_embeddings[quads + self.offsets].sum(dim=1)
        for weight, bias in zip(self.weights, self.biases):
            h = h + torch.relu(h) @ weight.T + bias
        return h

    def numpy_weights(self) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """(octet embeddings, layer weights, layer biases) as float32 numpy arrays."""
        def cpu(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().numpy(), dtype=np.float32)

        return cpu(self.octet_embeddings), [cpu(w) for w in self.weights], [cpu(b) for b in self.biases]


def encode_ips_numpy(
    quads: np.ndarray, octet_embeddings: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray]
) -> np.ndarray:
    """:meth:`IPEncoder.forward` in numpy (float32): IP embeddings of ``n × 4`` octets."""
    rows = np.asarray(quads, dtype=np.int64) + OCTET_OFFSETS[None, :]
    h = octet_embeddings[rows].sum(axis=1, dtype=np.float32)
    for weight, bias in zip(weights, biases):
        h = h + np.maximum(h, 0.0) @ weight.T + bias
    return h.astype(np.float32, copy=False)
