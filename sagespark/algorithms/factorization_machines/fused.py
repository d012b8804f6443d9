"""One FM training step as three compiled loops: batch gradient, rank merge, lazy Adam.

A mini-batch of SageMaker's default 1,000 one-hot rows touches a few thousand table rows of
``1 + k`` values: far too little work for a framework's per-operation dispatch (~20 tensor
operations at 10–30 µs each), so the step is written as plain loops that numba compiles once
(``cache=True`` keeps the machine code beside this file for the next process). The table is far
larger than a core's cache and a batch's rows are scattered through it, so each loop first touches
all the rows it will use: those loads are independent and their cache misses overlap, where the
arithmetic between them would otherwise make the misses wait on each other.

The parameters live in a float32 state table whose row ``i`` is ``[w_i, v_i1 … v_ik | m | v | padding]``
(parameters, then Adam's two moments, padded to whole cache lines), so the loops read a feature's
parameters from one cache line and update its moments in the next. For a row with values ``x_i`` at
features ``i``, ``s_f = Σ_i v_if x_i`` and Rendle's identity give the score in ``O(nnz · k)``:

    ŷ = w0 + Σ_i w_i x_i + ½ Σ_f [ s_f² − Σ_i v_if² x_i² ]

and with ``g = ∂loss/∂ŷ`` the gradients are ``∂/∂w_i = g x_i`` and
``∂/∂v_if = g x_i (s_f − v_if x_i)``.

A *packet* carries one rank's step to the others, as float32 (half the bytes to copy between ranks):
row 0 is the header ``[-1, Σ g (bias gradient), rows, Σ loss, u, 0…]`` and each of the ``u``
further rows ``[feature id, ∂/∂w, ∂/∂v…]`` holds the gradient of one feature the batch touched, summed
over the batch. Column 0, and ``u``, hold int32 values (read through an int32 view of the packet), so
any feature id survives. :func:`merge_packets` sums the packets of all ranks in rank order, in
float64, so every rank derives bit-identical sums and the replicas stay equal.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> x = sp.csr_matrix(np.array([[1.0, 2.0]], dtype=np.float32))
>>> state = np.array([[1.0, 1.0, 0.0], [1.0, 3.0, 1.0]], dtype=np.float32)  # rows [w_i, v_i1, v_i2]
>>> slots = np.full(2, -1, dtype=np.int32)
>>> packet = np.zeros((3, 5), dtype=np.float32)
>>> batch_packet = batch_kernel(3)  # compiled for width 1 + k = 3
>>> u = batch_packet(x.indptr, x.indices, x.data, np.array([9.0]), 0, 1, 0.5, state, True, slots,
...                  packet, packet.view(np.int32))
>>> u, packet.view(np.int32)[:, 0].tolist(), packet[0, 1:4].tolist()  # ŷ = 0.5 + 3 + 1·2·3 = 9.5
(2, [-1, 0, 1], [0.5, 1.0, 0.25])
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from numba import njit

from sagespark.algorithms.factorization_machines.optimizer import BETA1, BETA2

__all__ = ["batch_kernel", "merge_packets", "clear_slots", "adam_rows", "HEADER_WIDTH", "COUNT_COLUMN"]

HEADER_WIDTH = 5  # id marker, bias gradient, rows, loss, feature rows (int32)
COUNT_COLUMN = 4  # the header's column of feature rows


# fastmath: the same machine code runs on every rank, so reassociation cannot split the replicas.
_compiled = njit(cache=True, nogil=True, error_model="numpy", fastmath=True)


@functools.cache
def batch_kernel(width: int) -> Callable[..., int]:
    """The compiled batch step for rows of ``width = 1 + k`` parameters (one per ``k``, kept on disk).

    ``k`` is a constant of the machine code, so the loops over the factors unroll into vector
    instructions: 12–25 % less time per batch than one loop for every ``k``.

    The returned ``batch_packet(indptr, indices, data, label, start, stop, bias, state, regressor,
    slots, packet, packet_ids) -> int`` writes the packet of rows ``[start, stop)`` of a CSR shard and
    returns the number of feature rows in it. ``state[:, :width]`` holds ``[w | V]``. ``slots``
    (``feature_dim`` int32, all −1 on entry and on return) maps a feature to its packet row while the
    batch runs. ``packet`` (float32) needs ``1 + nnz`` rows of ``max(5, 1 + width)`` values;
    ``packet_ids`` is its int32 view. The regressor's loss is the squared error ``(ŷ − y)²``; the
    classifier's is the log loss of ``sigmoid(ŷ)``. Sums over a row's features are float32, like the
    table; sums over the batch's rows (loss, bias gradient) float64.
    """
    k = width - 1

    @_compiled
    def batch_packet(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, label: np.ndarray,
                     start: int, stop: int, bias: float, state: np.ndarray, regressor: bool,
                     slots: np.ndarray, packet: np.ndarray,
                     packet_ids: np.ndarray) -> int:  # pragma: no cover - compiled
        touched = np.float32(0.0)
        for p in range(indptr[start], indptr[stop]):
            i = indices[p]
            touched += state[i, 0] + slots[i]
        packet[0, 1] = touched  # keeps the touching loads; the header is written at the end
        s = np.zeros(k, dtype=np.float32)
        u = 0
        bias_grad = 0.0
        loss = 0.0
        for r in range(start, stop):
            lo, hi = indptr[r], indptr[r + 1]
            linear = np.float32(0.0)
            pair = np.float32(0.0)
            for f in range(k):
                s[f] = 0.0
            for p in range(lo, hi):
                i = indices[p]
                x = data[p]
                linear += state[i, 0] * x
                for f in range(k):
                    v = state[i, 1 + f] * x
                    s[f] += v
                    pair -= v * v
            for f in range(k):
                pair += s[f] * s[f]
            score = float(bias + linear + 0.5 * pair)
            y = label[r]
            if regressor:
                g = score - y
                loss += g * g
            else:
                # log(1 + e^{-|z|}) + max(z, 0) − z·y, stable for any z.
                loss += math.log1p(math.exp(-abs(score))) + max(score, 0.0) - score * y
                if score >= 0:
                    g = 1.0 / (1.0 + math.exp(-score)) - y
                else:
                    e = math.exp(score)
                    g = e / (1.0 + e) - y
            bias_grad += g
            g32 = np.float32(g)
            for p in range(lo, hi):
                i = indices[p]
                x = data[p]
                gx = g32 * x
                slot = slots[i]
                if slot < 0:  # the feature's first row in this batch: its packet row starts here
                    u += 1
                    slot = u
                    slots[i] = slot
                    packet_ids[slot, 0] = i
                    packet[slot, 1] = gx
                    for f in range(k):
                        packet[slot, 2 + f] = gx * (s[f] - state[i, 1 + f] * x)
                else:
                    packet[slot, 1] += gx
                    for f in range(k):
                        packet[slot, 2 + f] += gx * (s[f] - state[i, 1 + f] * x)
        for j in range(1, u + 1):
            slots[packet_ids[j, 0]] = -1
        packet_ids[0, 0] = -1
        packet[0, 1] = bias_grad
        packet[0, 2] = stop - start
        packet[0, 3] = loss
        packet_ids[0, COUNT_COLUMN] = u
        return u

    return batch_packet  # type: ignore[no-any-return]


@_compiled
def merge_packets(packet: np.ndarray, packet_ids: np.ndarray, slots: np.ndarray, ids: np.ndarray,
                  sums: np.ndarray, header: np.ndarray, owner: int, owners: int,
                  n: int) -> int:  # pragma: no cover - compiled
    """Add one packet to the ``n`` features summed so far; returns the new number of features.

    Call it for each rank's packet in rank order, starting from ``n = 0`` with a zeroed ``header``,
    then :func:`clear_slots`. Only features with ``id % owners == owner`` are kept (``0`` and ``1``:
    all). ``ids[:n]`` and ``sums[:n]`` (float64, ``rows × width``) hold them in order of first
    appearance with their summed gradients; ``header[:3]`` the summed bias gradient, rows and loss.
    ``slots`` as in :func:`batch_packet`.
    """
    width = sums.shape[1]
    for r in range(packet.shape[0]):
        key = packet_ids[r, 0]
        if key < 0:
            header[0] += packet[r, 1]
            header[1] += packet[r, 2]
            header[2] += packet[r, 3]
            continue
        i = key
        if i % owners != owner:
            continue
        slot = slots[i]
        if slot < 0:
            slot = n
            n += 1
            slots[i] = slot
            ids[slot] = i
            for c in range(width):
                sums[slot, c] = packet[r, 1 + c]
        else:
            for c in range(width):
                sums[slot, c] += packet[r, 1 + c]
    return n


@_compiled
def clear_slots(slots: np.ndarray, ids: np.ndarray, n: int) -> None:  # pragma: no cover - compiled
    """Reset the ``slots`` entries of ``ids[:n]`` to −1 after the last :func:`merge_packets`."""
    for j in range(n):
        slots[ids[j]] = -1


@_compiled
def adam_rows(state: np.ndarray, width: int, ids: np.ndarray, sums: np.ndarray, n: int,
              lr: np.ndarray, wd: np.ndarray, eps: float, clip: float, correction: float,
              scale: float) -> float:  # pragma: no cover - compiled
    """MXNet's lazy Adam, in float32, on rows ``ids[:n]`` of the state (``clip`` ≤ 0: no clipping).

    Row ``i`` of ``state`` is ``[θ (width) | m (width) | v (width) | …]``. For each value:
    ``g = clip(scale · G) + wd · θ``, ``m = β1 m + (1 − β1) g``, ``v = β2 v + (1 − β2) g²``,
    ``θ −= lr · correction · m / (√v + eps)``. Returns a checksum of the rows touched first.
    """
    touched = np.float32(0.0)
    for j in range(n):  # both cache lines of the row: the parameters and first moments, the rest
        touched += state[ids[j], 0] + state[ids[j], 2 * width]
    b1, b2 = np.float32(BETA1), np.float32(BETA2)
    scale32, eps32, clip32 = np.float32(scale), np.float32(eps), np.float32(clip)
    step = lr * np.float32(correction)
    for j in range(n):
        i = ids[j]
        for c in range(width):
            theta = state[i, c]
            g = np.float32(sums[j, c]) * scale32
            if clip32 > 0:
                g = min(max(g, -clip32), clip32)
            g += wd[c] * theta
            m = b1 * state[i, width + c] + (np.float32(1.0) - b1) * g
            v = b2 * state[i, 2 * width + c] + (np.float32(1.0) - b2) * g * g
            state[i, width + c] = m
            state[i, 2 * width + c] = v
            state[i, c] = theta - step[c] * m / (np.sqrt(v) + eps32)
    return float(touched)
