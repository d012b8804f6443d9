"""The Scala bridge: sagespark's JVM classes, loaded into a running Spark session on first use.

``bridge/`` holds the Scala sources; ``bash bridge/build.sh`` (run by ``scripts/setup.sh``) compiles them
against PySpark's own jars into ``sagespark/jars/sagespark-bridge.jar``. A session started with that jar
on ``spark.jars`` has the classes already; any other session gets the jar added at run time: to the
driver's class loader (Spark's ``MutableURLClassLoader``, which accepts new URLs) and, through
``SparkContext.addJar``, to every executor.

Set ``spark.sagespark.bridge.enabled=false`` (at start-up or with ``spark.conf.set``) to leave the bridge
unused; everything still works, through the pure-Python paths.

Examples
--------
>>> from sagespark.bridge import bridge_jar
>>> bridge_jar().name
'sagespark-bridge.jar'
>>> shards = training_shards(spark)          # doctest: +SKIP
>>> shards is None or shards.supports(df._jdf.schema())   # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

__all__ = ["BRIDGE_ENABLED_CONF", "bridge_jar", "shard_manifests", "training_shards"]

logger = logging.getLogger(__name__)

BRIDGE_ENABLED_CONF = "spark.sagespark.bridge.enabled"
"""Spark conf: ``false`` keeps the bridge unused (default ``true``)."""
_SHARDS_CLASS = "org.sagespark.bridge.TrainingShards"
_lock = threading.Lock()
_loaded: dict[str, Any] = {}  # Spark application id → the TrainingShards object, or None


def bridge_jar() -> Path:
    """Where ``bridge/build.sh`` puts the bridge jar (inside the installed package)."""
    return Path(__file__).resolve().parent / "jars" / "sagespark-bridge.jar"


def training_shards(spark: Any) -> Any | None:
    """The JVM ``TrainingShards`` object for ``spark``'s session, or ``None`` when the bridge is off.

    ``None`` when the conf turns the bridge off, when the jar was never built, or when the JVM refuses
    it (a Spark other than the one it was compiled against); the reason is logged once per session.
    """
    if str(spark.conf.get(BRIDGE_ENABLED_CONF, "true")).strip().lower() == "false":
        return None
    sc = spark.sparkContext
    key = sc.applicationId  # a new SparkContext must add the jar for its executors again
    with _lock:
        if key not in _loaded:
            _loaded[key] = _load(sc)
        return _loaded[key]


def shard_manifests(shards: Any, df: Any, partitions: int, *, reuse: bool) -> Any:
    """An RDD of one JSON manifest per partition: ``df`` spread over ``partitions`` and written as shards.

    ``shards`` is the JVM object :func:`training_shards` returns. With ``reuse``, a ``df`` that already has
    ``partitions`` partitions keeps them; otherwise its rows are dealt round-robin. A task of a stage over
    the RDD writes its partition's files and hands the manifest to its Python worker, which reads them
    with :func:`sagespark.data.training_shards.batches_from_shards`.

    Examples
    --------
    >>> manifests = shard_manifests(training_shards(spark), df, 2, reuse=True)   # doctest: +SKIP
    >>> manifests.getNumPartitions()                                            # doctest: +SKIP
    2
    """
    from pyspark import RDD
    from pyspark.serializers import UTF8Deserializer

    return RDD(shards.export(df._jdf, partitions, reuse), df.sparkSession.sparkContext, UTF8Deserializer())


def _load(sc: Any) -> Any | None:
    jvm = sc._jvm
    if not _loadable(jvm):
        jar = bridge_jar()
        if not jar.is_file():
            logger.warning("sagespark's bridge jar is missing (%s; run `bash bridge/build.sh`): training "
                           "data reaches the workers through Arrow, which is slower.", jar)
            return None
        loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
        try:
            loader.addURL(jvm.java.io.File(str(jar)).toURI().toURL())
        except Exception as err:  # a class loader without addURL: the jar must come with spark.jars
            logger.warning("Could not add %s to the driver (%s); start the session with spark.jars=%s.",
                           jar, err, jar)
            return None
        sc._jsc.addJar(str(jar))
        if not _loadable(jvm):
            logger.warning("The JVM does not load %s; training data goes through Arrow.", jar)
            return None
    return getattr(jvm, _SHARDS_CLASS)


def _loadable(jvm: Any) -> bool:
    loader = jvm.java.lang.Thread.currentThread().getContextClassLoader()
    try:
        jvm.java.lang.Class.forName(_SHARDS_CLASS, True, loader)
        return True
    except Exception:  # py4j wraps ClassNotFoundException / LinkageError
        return False
