"""A forest of random cut trees as flat numpy arrays, and its level-by-level vectorised builder.

Every node of every tree is one row of a few parallel arrays (node ``i``: ``feature[i]``,
``threshold[i]``, ``left[i]``, ``right[i]``, ``mass[i]`` and the bounding box
``lower[i]``/``upper[i]`` of the points below it); ``roots[t]`` is tree ``t``'s root. A leaf has
``feature == -1`` and holds identical points (its box is the point; ``mass`` counts duplicates).
Points with ``x[feature] <= threshold`` go left. The forest saves as one ``.npz`` of plain arrays.

Construction follows Guha et al. (2016), "Robust random cut forest based anomaly detection on
streams": at each node the cut dimension is drawn with probability proportional to the side
lengths of the node's bounding box and the cut value uniformly within that side. Instead of one
Python call per node, :func:`build_forest` grows all trees at once, one depth level per step: the
points of all open nodes are grouped by node, boxes come from segment min/max, and every open node
draws its cut in the same vectorised step.

Examples
--------
>>> import numpy as np
>>> samples = np.random.default_rng(0).normal(size=(2, 16, 3)).astype(np.float32)
>>> forest = build_forest(samples, np.random.default_rng(1))
>>> forest.num_trees, forest.feature_dim, forest.mass[forest.roots].tolist()
(2, 3, [16, 16])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sagespark.errors import ArtifactError

__all__ = ["Forest", "build_forest", "FOREST_FILE"]

FOREST_FILE = "forest.npz"
_FIELDS = ("feature", "threshold", "left", "right", "mass", "lower", "upper", "roots")


@dataclass
class Forest:
    """Random cut trees in flat arrays (see the module docstring for the layout)."""

    feature: np.ndarray     # int32 (nodes,), -1 at leaves
    threshold: np.ndarray   # float64 (nodes,)
    left: np.ndarray        # int32 (nodes,), -1 at leaves
    right: np.ndarray       # int32 (nodes,), -1 at leaves
    mass: np.ndarray        # int64 (nodes,): points below the node
    lower: np.ndarray       # float32 (nodes, d): bounding box
    upper: np.ndarray       # float32 (nodes, d)
    roots: np.ndarray       # int64 (trees,)

    @property
    def num_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def feature_dim(self) -> int:
        return int(self.lower.shape[1])

    @property
    def num_nodes(self) -> int:
        return int(self.feature.shape[0])

    # -- transport between ranks: one float64 matrix (exact for int32 and float32 values) -----------
    def pack(self) -> np.ndarray:
        """All node arrays as one ``nodes × (5 + 2d)`` float64 matrix (roots are implied: the first
        ``num_trees`` nodes, as :func:`build_forest` numbers them)."""
        if not np.array_equal(self.roots, np.arange(self.num_trees)):
            raise ValueError("only a forest whose roots are its first nodes can be packed")
        columns = [self.feature, self.threshold, self.left, self.right, self.mass]
        scalars = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
        return np.hstack([scalars, self.lower.astype(np.float64), self.upper.astype(np.float64)])

    @staticmethod
    def from_packed(pieces: list[np.ndarray], trees_per_piece: list[int]) -> Forest:
        """Concatenate packed pieces into one forest, renumbering child and root indices."""
        feature, threshold, left, right, mass, lower, upper, roots = ([] for _ in range(8))
        offset = 0
        for piece, trees in zip(pieces, trees_per_piece):
            dim = (piece.shape[1] - 5) // 2
            children = piece[:, 2:4].astype(np.int64)
            shifted = np.where(children >= 0, children + offset, -1)
            feature.append(piece[:, 0].astype(np.int32))
            threshold.append(piece[:, 1])
            left.append(shifted[:, 0].astype(np.int32))
            right.append(shifted[:, 1].astype(np.int32))
            mass.append(piece[:, 4].astype(np.int64))
            lower.append(piece[:, 5:5 + dim].astype(np.float32))
            upper.append(piece[:, 5 + dim:].astype(np.float32))
            roots.append(np.arange(trees, dtype=np.int64) + offset)
            offset += piece.shape[0]
        return Forest(*(np.concatenate(part) for part in
                        (feature, threshold, left, right, mass, lower, upper, roots)))

    # -- persistence ------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write ``forest.npz`` (plain arrays; readable with ``allow_pickle=False``)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / FOREST_FILE, **{name: getattr(self, name) for name in _FIELDS})

    @staticmethod
    def load(directory: Path, *, feature_dim: int | None = None, num_trees: int | None = None) -> Forest:
        """Read ``forest.npz`` without pickle and check that it is a consistent forest.

        Raises
        ------
        ArtifactError
            Missing or unreadable file, missing arrays, or arrays that do not form valid trees.
        """
        path = Path(directory) / FOREST_FILE
        try:
            with np.load(path, allow_pickle=False) as payload:
                missing = [name for name in _FIELDS if name not in payload.files]
                if missing:
                    raise ArtifactError(f"{path} lacks the arrays {missing}.")
                arrays = {name: np.asarray(payload[name]) for name in _FIELDS}
        except (OSError, ValueError) as err:
            raise ArtifactError(f"Cannot read the Random Cut Forest from {path}: {err}") from None
        forest = Forest(
            feature=arrays["feature"].astype(np.int32), threshold=arrays["threshold"].astype(np.float64),
            left=arrays["left"].astype(np.int32), right=arrays["right"].astype(np.int32),
            mass=arrays["mass"].astype(np.int64), lower=arrays["lower"].astype(np.float32),
            upper=arrays["upper"].astype(np.float32), roots=arrays["roots"].astype(np.int64),
        )
        forest.check(str(path), feature_dim=feature_dim, num_trees=num_trees)
        return forest

    def check(self, where: str, *, feature_dim: int | None = None, num_trees: int | None = None) -> None:
        """Raise :class:`ArtifactError` unless the arrays form ``num_trees`` valid trees."""
        n = self.num_nodes
        shapes_ok = (
            self.lower.ndim == 2 and self.upper.shape == self.lower.shape and self.lower.shape[0] == n
            and all(getattr(self, f).shape == (n,) for f in ("threshold", "left", "right", "mass"))
            and self.roots.ndim == 1 and self.num_trees > 0
        )
        if not shapes_ok:
            raise ArtifactError(f"{where}: the forest arrays have inconsistent shapes.")
        if feature_dim is not None and self.feature_dim != feature_dim:
            raise ArtifactError(f"{where} holds trees over {self.feature_dim} features, but the "
                                f"hyperparameters say feature_dim={feature_dim}.")
        if num_trees is not None and self.num_trees != num_trees:
            raise ArtifactError(f"{where} holds {self.num_trees} trees, but the hyperparameters say "
                                f"num_trees={num_trees}.")
        internal = self.feature >= 0
        children = np.concatenate([self.left[internal], self.right[internal]])
        valid = (
            bool(np.all(self.feature < self.feature_dim))
            and bool(np.all((self.roots >= 0) & (self.roots < n)))
            and bool(np.all((children >= 0) & (children < n)))
            # Children are numbered after their parent, so descending always terminates.
            and bool(np.all(self.left[internal] > np.flatnonzero(internal)))
            and bool(np.all(self.right[internal] > np.flatnonzero(internal)))
            and bool(np.all(self.mass >= 1))
            and bool(np.all(np.isfinite(self.threshold)))
        )
        if not valid:
            raise ArtifactError(f"{where}: the forest arrays do not describe valid trees.")


def build_forest(samples: np.ndarray, rng: np.random.Generator) -> Forest:
    """Grow one random cut tree per sample set, all trees at once, one depth level per step.

    Parameters
    ----------
    samples : numpy.ndarray
        ``trees × points × d``: each tree's sample (float32).
    rng : numpy.random.Generator
        Source of the random cuts.

    Returns
    -------
    Forest
        Roots are nodes ``0 .. trees - 1``; children are always numbered after their parent.
    """
    num_trees, per_tree, dim = samples.shape
    points = np.ascontiguousarray(samples, dtype=np.float32).reshape(num_trees * per_tree, dim)
    capacity = max(num_trees * (2 * per_tree - 1), num_trees)
    feature = np.full(capacity, -1, dtype=np.int32)
    threshold = np.zeros(capacity, dtype=np.float64)
    left = np.full(capacity, -1, dtype=np.int32)
    right = np.full(capacity, -1, dtype=np.int32)
    mass = np.zeros(capacity, dtype=np.int64)
    lower = np.zeros((capacity, dim), dtype=np.float32)
    upper = np.zeros((capacity, dim), dtype=np.float32)

    node_of = np.repeat(np.arange(num_trees, dtype=np.int64), per_tree)   # current node of every point
    live = np.arange(points.shape[0])                                      # points in open nodes
    next_id = num_trees
    while live.size:
        live = live[np.argsort(node_of[live], kind="stable")]
        nodes = node_of[live]
        starts = np.flatnonzero(np.r_[True, nodes[1:] != nodes[:-1]])
        ids = nodes[starts]
        counts = np.diff(np.r_[starts, live.size])
        x = points[live]
        lo = np.minimum.reduceat(x, starts, axis=0)
        hi = np.maximum.reduceat(x, starts, axis=0)
        lower[ids], upper[ids], mass[ids] = lo, hi, counts
        ranges = hi.astype(np.float64) - lo.astype(np.float64)
        splits = ranges.sum(axis=1) > 0          # a node of identical points is a leaf
        segment = np.repeat(np.arange(ids.size), counts)
        keep = splits[segment]
        if not keep.any():
            break
        live, x, segment = live[keep], x[keep], segment[keep]
        # Renumber the splitting nodes 0..k-1 so per-node arrays line up with `segment`.
        rank_of = np.cumsum(splits) - 1
        segment = rank_of[segment]
        ids, ranges, lo = ids[splits], ranges[splits], lo[splits].astype(np.float64)
        goes_left, dims, cuts = _draw_cuts(x, segment, ranges, lo, counts[splits], rng)
        k = ids.size
        left_ids = next_id + 2 * np.arange(k)
        feature[ids], threshold[ids] = dims, cuts
        left[ids], right[ids] = left_ids, left_ids + 1
        next_id += 2 * k
        node_of[live] = np.where(goes_left, left_ids[segment], left_ids[segment] + 1)
    return Forest(feature[:next_id], threshold[:next_id], left[:next_id], right[:next_id], mass[:next_id],
                  lower[:next_id], upper[:next_id], np.arange(num_trees, dtype=np.int64))


def _draw_cuts(x: np.ndarray, segment: np.ndarray, ranges: np.ndarray, lo: np.ndarray, counts: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One random cut per node (dimension ∝ side length, value uniform on the side).

    A cut that leaves one side empty (the value rounded onto the box's upper edge) is drawn again
    for that node only, so every split is proper.
    """
    k = ranges.shape[0]
    cumulative = np.cumsum(ranges, axis=1)
    dims = np.zeros(k, dtype=np.int64)
    cuts = np.zeros(k)
    goes_left = np.zeros(x.shape[0], dtype=bool)
    todo = np.arange(k)
    while todo.size:
        target = rng.random(todo.size) * cumulative[todo, -1]
        d = np.minimum((cumulative[todo] <= target[:, None]).sum(axis=1), ranges.shape[1] - 1)
        cut = lo[todo, d] + rng.random(todo.size) * ranges[todo, d]
        dims[todo], cuts[todo] = d, cut
        mine = np.isin(segment, todo) if todo.size < k else np.ones(x.shape[0], dtype=bool)
        rows = np.flatnonzero(mine)
        seg = segment[rows]
        goes_left[rows] = x[rows, dims[seg]] <= cuts[seg]
        n_left = np.bincount(seg, weights=goes_left[rows], minlength=k)[todo]
        todo = todo[(n_left == 0) | (n_left == counts[todo])]
    return goes_left, dims.astype(np.int32), cuts
