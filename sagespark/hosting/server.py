"""Run the endpoint: uvicorn (uvloop + httptools) in front of :class:`~sagespark.hosting.app.InvocationsApp`.

SIGTERM makes uvicorn stop accepting connections, finish the requests in flight and exit; with several
workers the supervisor forwards it to each worker, and all of them share one listening socket.

Examples
--------
>>> serve("/opt/ml/model", ServerConfig(port=8080, workers=2))      # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

from sagespark.hosting.app import MODEL_PATH_ENV, InvocationsApp
from sagespark.hosting.config import ServerConfig
from sagespark.hosting.served_model import load_served_model

__all__ = ["serve"]

logger = logging.getLogger("sagespark.hosting")


def _watch_parent(parent_pid: int) -> None:
    """SIGTERM ourselves (a graceful shutdown) once ``parent_pid`` is no longer our parent."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        logger.info("Parent process %d is gone; shutting down.", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="sagespark-parent-watch", daemon=True).start()


def serve(
    model_path: str | os.PathLike[str],
    config: ServerConfig,
    *,
    access_log: bool = False,
    parent_pid: int | None = None,
) -> None:
    """Serve ``model_path`` until SIGTERM / SIGINT.

    The model is loaded here first even when worker processes load their own copy, so a broken artifact
    fails the command once, with a clear message, instead of crash-looping workers.

    Parameters
    ----------
    model_path : path-like
        An artifact directory or ``model.tar.gz``.
    config : ServerConfig
        Address, workers and SageMaker settings.
    access_log : bool
        Log every request (off by default: it costs throughput).
    parent_pid : int, optional
        Shut down when this process (the one that started the server) exits.

    Raises
    ------
    ArtifactError
        When the model cannot be loaded.
    """
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    model = load_served_model(model_path)
    common = dict(
        host=config.host,
        port=config.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=access_log,
        log_level="info",
        timeout_graceful_shutdown=None,  # SageMaker sends SIGKILL 30 s after SIGTERM; drain until then
    )
    logger.info(
        "sagespark serving %s from %s on http://%s:%d (%d worker(s))",
        model.algorithm,
        model_path,
        config.host,
        config.port,
        config.workers,
    )
    if parent_pid is not None:
        _watch_parent(parent_pid)
    if config.workers <= 1:
        uvicorn.run(InvocationsApp(model, config), **common)  # type: ignore[arg-type]
        return
    # Worker processes are spawned and import the app factory; they learn the settings from the environment.
    os.environ[MODEL_PATH_ENV] = str(Path(model_path).resolve())
    os.environ.update(config.to_env())
    del model
    uvicorn.run(
        "sagespark.hosting.app:create_app",
        factory=True,
        workers=config.workers,
        **common,  # type: ignore[arg-type]
    )
