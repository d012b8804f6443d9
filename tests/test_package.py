"""The top-level package: light import, data source registration with an existing session."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_import_is_light_and_exports_the_estimators() -> None:
    code = (
        "import sys, sagespark; assert 'pyspark' not in sys.modules, 'import pulled in pyspark'; "
        "print(sagespark.KMeans.__name__, sagespark.PCA.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["KMeans", "PCA"]


@pytest.mark.spark
def test_register_makes_the_format_available(spark, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sagespark

    sagespark.register(spark)
    sagespark.register(spark)  # idempotent
    df = spark.createDataFrame([([1.0, 2.0], 1.0), ([3.0, 4.0], 0.0)], "features array<double>, label double")
    df.write.format("sagemaker").mode("overwrite").save(str(tmp_path / "d"))
    back = spark.read.format("sagemaker").load(str(tmp_path / "d")).orderBy("label")
    assert [(r.features.toArray().tolist(), r.label) for r in back.collect()] == [
        ([3.0, 4.0], 0.0), ([1.0, 2.0], 1.0),
    ]
