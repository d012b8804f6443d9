"""IP Insights on Spark: named columns, validation metric, verbose columns, invalid IPs (fit, transform)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.spark


def _rows(rng: np.random.Generator, n: int) -> list[tuple[int, str, str]]:
    users = rng.integers(0, 12, n)
    hosts = rng.integers(1, 255, n)
    return [(i, f"user-{u}", f"10.{u}.7.{h}") for i, (u, h) in enumerate(zip(users, hosts))]


def test_fit_transform_with_named_columns_validation_and_verbose(spark: Any, tmp_path: Path) -> None:
    from sagespark import IPInsights
    from sagespark.errors import SageSparkError

    rng = np.random.default_rng(0)
    train = spark.createDataFrame(_rows(rng, 300), ["id", "user", "addr"])
    validation = spark.createDataFrame(_rows(rng, 60), ["id", "user", "addr"])
    est = IPInsights(num_entity_vectors=24, vector_dim=8, epochs=3, mini_batch_size=32, learning_rate=0.01,
                     entityCol="user", ipCol="addr", numWorkers=2, storeUri=str(tmp_path / "store"))
    model = est.setValidationData(validation).fit(train)
    assert 0.5 < model.metrics["validation:discriminator_auc"] <= 1.0

    out = model.setVerbose(True).transform(validation).orderBy("id").collect()
    assert len(out) == 60
    for row in out[:5]:
        e, v = row["entity_embedding"].toArray(), row["ip_embedding"].toArray()
        assert e.shape == v.shape == (8,)
        assert row["dot_product"] == pytest.approx(float(e @ v), rel=1e-5, abs=1e-6)

    bad = spark.createDataFrame([(0, "user-1", "10.1.7.1"), (1, "user-2", "10.1.7.999")],
                                ["id", "user", "addr"])
    with pytest.raises(Exception, match=r"row 1: '10.1.7.999' is not an IPv4 address"):
        model.transform(bad.coalesce(1)).collect()

    with pytest.raises(SageSparkError, match=r"'10.1.7.999' is not an IPv4 address"):
        est.fitWithChannels(bad.coalesce(1))
