"""Training across separate executor JVMs (``local-cluster``), run in a subprocess of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

HERE = Path(__file__).parent


def _private_spark_home(root: Path) -> Path:
    """A SPARK_HOME of links to pyspark's own files.

    local-cluster workers write executor logs to ``$SPARK_HOME/work`` (Spark's LocalSparkCluster passes
    no work dir, so SPARK_WORKER_DIR is ignored); with pip's pyspark that would be inside the venv.
    """
    import pyspark

    home = root / "spark-home"
    home.mkdir()
    for entry in Path(pyspark.__file__).parent.iterdir():
        if entry.name != "work":
            (home / entry.name).symlink_to(entry)
    return home


def test_two_executor_jvms_train_together(tmp_path: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    home = _private_spark_home(tmp_path)
    env["SPARK_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, str(HERE / "local_cluster_job.py"), str(tmp_path / "store")],
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Two executors with one core each host the two barrier tasks: one rank per JVM.
    assert result["executors"] == 2
    assert result["metrics"]["world_size"] == 2
    assert result["metrics"]["train:rows"] == 77
    assert result["metrics"]["train:feature_sum"] == result["feature_sum"]
    assert result["feature_dim"] == 4
    assert sum(result["rows_per_rank"]) == 77 and min(result["rows_per_rank"]) > 0
    # Per-epoch log lines reach the executors' stderr logs.
    logs = "".join(p.read_text(errors="replace") for p in (home / "work").rglob("stderr"))
    assert "toy rank 0 holds" in logs and "toy rank 1 holds" in logs
