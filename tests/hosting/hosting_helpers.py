"""Test helpers for hosting: small real models, a test-only slow/failing algorithm, and proxy servers.

The test algorithm registers itself only in server child processes (which import this module through
``SAGESPARK_PLUGINS``), so registry-wide suites in the test process never see it.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sagespark.algorithms.base import (
    Algorithm,
    ChannelData,
    OutputField,
    Predictor,
    TrainResult,
    get_algorithm,
    register,
)
from sagespark.hyperparams import Float, Hyperparameters, Int

HERE = Path(__file__).resolve().parent
PLUGIN_ENV = {"SAGESPARK_PLUGINS": "hosting_helpers", "PYTHONPATH": str(HERE)}


def blobs(n: int = 120, dim: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0] * dim, [8.0] * dim, [-8.0] + [4.0] * (dim - 1)])
    return (centers[rng.integers(0, 3, n)] + rng.normal(0, 1, (n, dim))).astype(np.float32)


def train_model(name: str, directory: Path, x: np.ndarray, **hyperparameters: Any) -> Path:
    """Train a registered algorithm on ``x`` in-process and save its artifact to ``directory``."""
    from sagespark.algorithms.artifact import save_artifact
    from sagespark.distributed.context import LocalContext

    algorithm = get_algorithm(name)
    data = ChannelData(x)
    hp = algorithm.infer_hyperparameters(algorithm.hyperparameters.from_dict(hyperparameters), data)
    result = algorithm.train(LocalContext(), {"train": data}, hp)
    save_artifact(directory, algorithm, hp, result.state, result.metrics)
    return directory


# -- a test-only algorithm whose predictor can be slow or fail ------------------------------
class SlowHyperparameters(Hyperparameters):
    display_name = "HostingTestSlow"
    feature_dim = Int("Input width.", low=1, inferred=True)
    delay = Float("Seconds each predict call sleeps.", 0.0, low=0.0)


class SlowPredictor(Predictor):
    """Echoes the first feature after ``delay`` s; a row with -999 raises (a server-side bug)."""

    def __init__(self, dim: int, delay: float) -> None:
        self._dim, self._delay = dim, delay

    @property
    def feature_dim(self) -> int:
        return self._dim

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        x = batch["features"]
        x = x.toarray() if hasattr(x, "toarray") else np.asarray(x)
        if (x == -999).any():
            raise RuntimeError("secret internal detail: /very/private/path")
        marker = os.environ.get("HOSTING_TEST_MARKER")
        if marker:  # tells the test the request is now being predicted
            Path(marker).write_text("in flight")
        time.sleep(self._delay)
        return {"echo": x[:, 0].astype(np.float64)}


class HostingTestSlow(Algorithm):
    name: ClassVar[str] = "hosting_test_slow"
    hyperparameters: ClassVar[type[Hyperparameters]] = SlowHyperparameters
    outputs: ClassVar[tuple[OutputField, ...]] = (OutputField("echo", "double"),)

    @classmethod
    def train(cls, ctx: Any, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
        return TrainResult(state={"dim": hp["feature_dim"]}, metrics={})

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        (directory / "slow.json").write_text(json.dumps(state))

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        state = json.loads((directory / "slow.json").read_text())
        return SlowPredictor(int(state["dim"]), float(hp["delay"]))


if "hosting_helpers" in os.environ.get("SAGESPARK_PLUGINS", ""):
    register(HostingTestSlow)


# -- proxies in front of a real endpoint ----------------------------------------------------
@contextmanager
def proxy_server(
    target_url: str, rewrite: Callable[[int, int, bytes], tuple[int, bytes]]
) -> Iterator[tuple[str, list[int]]]:
    """A threaded HTTP proxy to ``target_url``; ``rewrite(call_no, status, body)`` edits each answer.

    Yields the proxy URL and the list of statuses it answered with (for assertions).
    """
    host, port = target_url.split("://")[1].split(":")
    lock = threading.Lock()
    answered: list[int] = []
    counter = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _forward(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            with lock:
                counter[0] += 1
                call_no = counter[0]
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("content-type", "accept")}
            conn.request(method, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            content_type = response.getheader("content-type", "text/plain")
            conn.close()
            status, data = (
                rewrite(call_no, response.status, data)
                if self.path == "/invocations"
                else (response.status, data)
            )
            with lock:
                answered.append(status)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            self._forward("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._forward("POST")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answered
    finally:
        server.shutdown()
        server.server_close()
