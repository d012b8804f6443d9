"""``deploy_local``: start a SageMaker-compatible endpoint for a model in a child process.

The child runs ``sagespark serve``; the returned :class:`EndpointHandle` knows its URL, predicts through
it, and stops it. The server also watches its parent and exits when the parent is gone, and a finalizer
stops it when the handle is garbage-collected or Python exits, so no orphan server outlives the caller.

Examples
--------
>>> import numpy as np
>>> with deploy_local("/tmp/kmeans-model") as endpoint:                       # doctest: +SKIP
...     out = endpoint.predict(np.zeros((2, 4), np.float32), content_type="text/csv")
...     out["closest_cluster"]
array([0., 0.])
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.formats.text import decode_response, encode_request, encode_string_rows
from sagespark.hosting.client import EndpointClient, EndpointError, RetryPolicy

__all__ = ["EndpointHandle", "deploy_local"]


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _stop(process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """SIGTERM the server's process group, wait, then SIGKILL it (the finalizer; never raises)."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    else:
        try:  # worker processes of a multi-worker server live in the same group
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class EndpointHandle:
    """A running local endpoint.

    Attributes
    ----------
    url : str
        Base URL (``http://127.0.0.1:PORT``); POST ``{url}/invocations`` like any SageMaker endpoint.
    log_path : Path
        The server's log (stdout and stderr).
    """

    def __init__(
        self, process: subprocess.Popen[bytes], url: str, log_path: Path, stop_timeout_s: float
    ) -> None:
        self.process = process
        self.url = url
        self.log_path = log_path
        self._client = EndpointClient(url, retry=RetryPolicy(max_attempts=3))
        self._info: dict[str, Any] | None = None
        self._finalizer = weakref.finalize(self, _stop, process, stop_timeout_s)

    @property
    def alive(self) -> bool:
        """Whether the server process is still running."""
        return self.process.poll() is None

    def describe(self) -> dict[str, Any]:
        """The model's description from ``GET /model`` (algorithm, outputs, response key, feature_dim)."""
        if self._info is None:
            status, body, _ = self._client.request("GET", "/model")
            if status != 200:
                raise EndpointError(f"GET {self.url}/model answered HTTP {status}.", status)
            self._info = json.loads(body)
        return self._info

    def predict(
        self,
        data: Any,
        content_type: str = "text/csv",
        accept: str = "application/json",
    ) -> dict[str, np.ndarray]:
        """Send ``data`` to ``/invocations`` and return the outputs as arrays by output name.

        Parameters
        ----------
        data : array-like, scipy sparse matrix, bytes or str
            Rows of features (encoded as ``content_type``), an ``n × k`` array of strings for a model
            whose inputs are strings (IP Insights: ``[["user1", "1.2.3.4"], ...]``), or an already
            encoded body.
        content_type : str
            Request format: ``text/csv``, ``application/json``, ``application/jsonlines``,
            ``application/x-recordio-protobuf`` or ``text/libsvm``.
        accept : str
            Response format (``application/json``, ``application/jsonlines``, ``text/csv``,
            ``application/x-recordio-protobuf``).

        Raises
        ------
        EndpointError
            With the server's one-line reason when the request is rejected.
        """
        if isinstance(data, str):
            body = data.encode()
        elif isinstance(data, (bytes, bytearray, memoryview)):
            body = bytes(data)
        elif not sp.issparse(data) and np.asarray(data).dtype.kind in "OUS":
            body = encode_string_rows(np.asarray(data), content_type)  # rows of strings (IP Insights)
        else:
            matrix = data if sp.issparse(data) else np.asarray(data, dtype=np.float32)
            body = encode_request(matrix, content_type)
        raw = self._client.invoke(body, content_type=content_type, accept=accept)
        fields = [(o["name"], o["kind"]) for o in self.describe()["outputs"] if not o.get("verbose")]
        decoded = decode_response(raw, accept, fields=fields if accept.startswith("text/csv") else None)
        return {name: np.asarray(values) for name, values in decoded.items()}

    def delete(self) -> None:
        """Stop the server: SIGTERM (in-flight requests finish), then SIGKILL after the timeout."""
        self._client.close()
        self._finalizer()

    def __enter__(self) -> EndpointHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.delete()

    def __repr__(self) -> str:
        return f"EndpointHandle(url={self.url!r}, alive={self.alive})"


def deploy_local(
    model_dir: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    workers: int = 1,
    env: Mapping[str, str] | None = None,
    startup_timeout_s: float = 120.0,
    stop_timeout_s: float = 30.0,
) -> EndpointHandle:
    """Start ``sagespark serve`` for ``model_dir`` in a child process and wait until ``/ping`` answers.

    Parameters
    ----------
    model_dir : path-like
        Artifact directory or ``model.tar.gz``.
    host : str
        Address to bind (loopback by default).
    port : int
        Port; ``0`` picks a free one.
    workers : int
        Server processes.
    env : mapping, optional
        Extra environment for the server (``SAGEMAKER_MAX_PAYLOAD_IN_MB``, ...).
    startup_timeout_s : float
        How long to wait for ``/ping``.
    stop_timeout_s : float
        Grace period between SIGTERM and SIGKILL on :meth:`EndpointHandle.delete`.

    Raises
    ------
    EndpointError
        When the server exits or does not answer ``/ping`` in time (with the end of its log).

    Examples
    --------
    >>> endpoint = deploy_local("/tmp/model")          # doctest: +SKIP
    >>> endpoint.url                                     # doctest: +SKIP
    'http://127.0.0.1:40123'
    >>> endpoint.delete()                                # doctest: +SKIP
    """
    model_path = Path(model_dir)
    if not model_path.exists():
        raise EndpointError(f"Cannot deploy {model_path}: no such file or directory.")
    child_env = dict(os.environ)
    child_env.update(env or {})
    attempts = 3 if port == 0 else 1
    last_error = ""
    for _ in range(attempts):
        chosen = _free_port(host) if port == 0 else port
        log_fd, log_name = tempfile.mkstemp(prefix="sagespark-endpoint-", suffix=".log")
        command = [
            sys.executable, "-m", "sagespark.cli", "serve",
            "--model-dir", str(model_path), "--host", host, "--port", str(chosen),
            "--workers", str(workers), "--exit-with-parent", str(os.getpid()),
        ]  # fmt: skip
        process = subprocess.Popen(
            command, stdout=log_fd, stderr=subprocess.STDOUT, env=child_env, start_new_session=True
        )
        os.close(log_fd)
        url = f"http://{host if ':' not in host else f'[{host}]'}:{chosen}"
        handle = EndpointHandle(process, url, Path(log_name), stop_timeout_s)
        if _wait_for_ping(handle, startup_timeout_s):
            return handle
        handle.delete()
        last_error = _tail(handle.log_path)
        if "address already in use" not in last_error.lower():
            break
    raise EndpointError(f"The endpoint for {model_path} did not start; its log ends with:\n{last_error}")


def _wait_for_ping(handle: EndpointHandle, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    probe = EndpointClient(handle.url, timeout_s=2.0)
    try:
        while time.monotonic() < deadline:
            if not handle.alive:
                return False
            try:
                status, _, _ = probe.request("GET", "/ping")
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False
    finally:
        probe.close()
