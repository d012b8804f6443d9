"""Random Cut Forest finds injected anomalies at least as well as scikit-learn's IsolationForest.

Both detectors get the same budget (100 trees of 256 samples, SageMaker's and scikit-learn's
defaults), are trained on the unlabelled data (anomalies included) and score that same data.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))

from rcf_data import clustered_outliers, isolated_points, shifted_periodic_segment  # noqa: E402

from sagespark.algorithms import ChannelData, get_algorithm  # noqa: E402
from sagespark.algorithms.random_cut_forest import RandomCutForestPredictor  # noqa: E402
from sagespark.distributed.context import LocalContext  # noqa: E402

CASES: dict[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]] = {
    "isolated_points": isolated_points,
    "clustered_outliers": clustered_outliers,
    "shifted_periodic_segment": shifted_periodic_segment,
}


def _rcf_scores(x: np.ndarray, seed: int) -> np.ndarray:
    algo = get_algorithm("randomcutforest")
    data = ChannelData(x.astype(np.float32))
    hp = algo.infer_hyperparameters(algo.hyperparameters.from_dict({}), data)
    forest = algo.train(LocalContext(seed=seed), {"train": data}, hp).state
    return RandomCutForestPredictor(forest).predict({"features": x.astype(np.float32)})["score"]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", sorted(CASES))
def test_roc_auc_at_least_isolation_forest(case: str, seed: int) -> None:
    x, y = CASES[case](np.random.default_rng(seed))
    rcf_auc = roc_auc_score(y, _rcf_scores(x, seed))
    iso = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(x)
    iso_auc = roc_auc_score(y, -iso.score_samples(x))
    assert rcf_auc >= iso_auc, (case, rcf_auc, iso_auc)
    assert rcf_auc > 0.95, (case, rcf_auc)


def test_shingled_series_scores_peak_on_the_shifted_segment() -> None:
    x, y = shifted_periodic_segment(np.random.default_rng(3))
    scores = _rcf_scores(x, 3)
    top = np.argsort(scores)[::-1][: int(y.sum())]
    assert y[top].mean() > 0.8  # most of the highest scores are windows over the shifted segment
