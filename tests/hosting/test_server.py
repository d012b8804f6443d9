"""The endpoint on loopback: SageMaker's routes, content types, error statuses, env vars, SIGTERM."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hosting_helpers import blobs

from sagespark.algorithms.artifact import load_artifact
from sagespark.formats.text import encode_request
from sagespark.hosting.client import EndpointError
from sagespark.hosting.deploy import EndpointHandle, deploy_local


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
    host, port = url.split("://")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", "/invocations", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("content-type", "")
    finally:
        conn.close()


def _get(url: str, path: str) -> tuple[int, bytes]:
    host, port = url.split("://")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_ping_answers_200_with_empty_body(kmeans_endpoint: EndpointHandle) -> None:
    assert _get(kmeans_endpoint.url, "/ping") == (200, b"")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/csv",
        "application/json",
        "application/jsonlines",
        "application/x-recordio-protobuf",
        "text/libsvm",
    ],
)
@pytest.mark.parametrize(
    "accept", ["application/json", "application/jsonlines", "text/csv", "application/x-recordio-protobuf"]
)
def test_invocations_match_the_predictor(
    kmeans_endpoint: EndpointHandle, kmeans_dir: Path, content_type: str, accept: str
) -> None:
    x = blobs(n=25, seed=7)
    # libsvm is a sparse format: the predictor sees (and is compared on) the same CSR rows.
    rows = sp.csr_matrix(x) if content_type == "text/libsvm" else x
    expected = load_artifact(kmeans_dir).predictor.predict({"features": rows})
    got = kmeans_endpoint.predict(x, content_type=content_type, accept=accept)
    assert set(got) == {"closest_cluster", "distance_to_cluster"}
    for name, values in expected.items():
        if accept == "application/x-recordio-protobuf":
            values = values.astype(np.float32)  # SageMaker's responses carry Float32Tensors
        np.testing.assert_array_equal(got[name].astype(values.dtype), values)


def test_json_response_shape(kmeans_endpoint: EndpointHandle) -> None:
    status, body, content_type = _post(
        kmeans_endpoint.url, b"0,0,0,0\n8,8,8,8\n", {"Content-Type": "text/csv", "Accept": "application/json"}
    )
    assert status == 200 and content_type == "application/json"
    rows = json.loads(body)["predictions"]
    assert len(rows) == 2 and set(rows[0]) == {"closest_cluster", "distance_to_cluster"}


@pytest.mark.parametrize(
    ("headers", "body", "status", "reason"),
    [
        ({"Content-Type": "text/plain"}, b"1,2,3,4\n", 415, "Unsupported media type 'text/plain'"),
        ({"Content-Type": "text/csv", "Accept": "image/png"}, b"1,2,3,4\n", 406, "image/png"),
        ({"Content-Type": "text/csv"}, b"1,2,3,4\n5,x,7,8\n", 400, "line 2, column 2"),
        ({"Content-Type": "text/csv"}, b"1,2,3\n", 400, "must have 4 features"),
        ({"Content-Type": "application/json"}, b'{"instances": [', 400, "not valid JSON"),
        ({"Content-Type": "application/x-recordio-protobuf"}, b"\x00\x01\x02\x03garbage", 400, ""),
    ],
)
def test_bad_requests_get_one_line_reasons(
    kmeans_endpoint: EndpointHandle, headers: dict[str, str], body: bytes, status: int, reason: str
) -> None:
    got_status, got_body, _ = _post(kmeans_endpoint.url, body, headers)
    assert got_status == status
    text = got_body.decode()
    assert reason in text
    assert text.count("\n") == 1 and "Traceback" not in text


def test_payload_over_the_limit_gets_413(kmeans_endpoint: EndpointHandle) -> None:
    body = b"1,2,3,4\n" * ((6 << 20) // 8 + 1)
    status, text, _ = _post(kmeans_endpoint.url, body, {"Content-Type": "text/csv"})
    assert status == 413 and b"6 MB" in text
    # Chunked, with no Content-Length: caught while reading.
    host, port = kmeans_endpoint.url.split("://")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = (body[i : i + (1 << 20)] for i in range(0, len(body), 1 << 20))
    conn.request(
        "POST", "/invocations", body=chunks, headers={"Content-Type": "text/csv"}, encode_chunked=True
    )
    assert conn.getresponse().status == 413
    conn.close()
    assert kmeans_endpoint.predict(np.zeros((1, 4), np.float32))["closest_cluster"].shape == (1,)


def test_routes_and_methods(kmeans_endpoint: EndpointHandle) -> None:
    status, body = _get(kmeans_endpoint.url, "/execution-parameters")
    assert status == 200
    assert json.loads(body) == {
        "MaxConcurrentTransforms": 1,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 6,
    }
    assert _get(kmeans_endpoint.url, "/nope")[0] == 404
    assert _get(kmeans_endpoint.url, "/invocations")[0] == 405
    assert kmeans_endpoint.describe()["outputs"][0]["name"] == "closest_cluster"


def test_internal_errors_never_leak_a_traceback(slow_dir: Path, plugin_env: dict[str, str]) -> None:
    with deploy_local(slow_dir, env=plugin_env) as endpoint:
        status, body, _ = _post(endpoint.url, b"-999,0,0\n", {"Content-Type": "text/csv"})
        assert status == 500
        assert b"secret" not in body and b"Traceback" not in body and body.count(b"\n") == 1
        log = endpoint.log_path.read_text()
        assert "secret internal detail" in log and "Traceback" in log


def test_sagemaker_environment_variables(kmeans_dir: Path) -> None:
    env = {
        "SAGEMAKER_MAX_PAYLOAD_IN_MB": "1",
        "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
        "SAGEMAKER_BATCH": "true",
        "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "3",
    }
    with deploy_local(kmeans_dir, env=env) as endpoint:
        status, body, content_type = _post(endpoint.url, b"0,0,0,0\n", {"Content-Type": "text/csv"})
        assert status == 200 and content_type == "text/csv" and body.count(b",") == 1
        status, _, content_type = _post(
            endpoint.url, b"0,0,0,0\n", {"Content-Type": "text/csv", "Accept": "*/*"}
        )
        assert content_type == "text/csv"
        assert _post(endpoint.url, b"0,0,0,0\n" * (200_000), {"Content-Type": "text/csv"})[0] == 413
        params = json.loads(_get(endpoint.url, "/execution-parameters")[1])
        assert params == {"MaxConcurrentTransforms": 3, "BatchStrategy": "MULTI_RECORD", "MaxPayloadInMB": 1}


def test_sigterm_finishes_in_flight_requests(
    slow_dir: Path, plugin_env: dict[str, str], tmp_path: Path
) -> None:
    marker = tmp_path / "in-flight"
    endpoint = deploy_local(slow_dir, env={**plugin_env, "HOSTING_TEST_MARKER": str(marker)})
    results: list[tuple[int, bytes, str]] = []
    thread = threading.Thread(
        target=lambda: results.append(_post(endpoint.url, b"5,0,0\n", {"Content-Type": "text/csv"}))
    )
    thread.start()
    for _ in range(600):  # wait until the request is inside its 1.5 s prediction
        if marker.exists():
            break
        time.sleep(0.05)
    assert marker.exists()
    os.kill(endpoint.process.pid, signal.SIGTERM)
    thread.join(30)
    assert results and results[0][0] == 200
    assert json.loads(results[0][1]) == {"predictions": [{"echo": 5.0}]}
    # uvicorn re-raises the signal once drained, so the exit status is SIGTERM's (or 0).
    assert endpoint.process.wait(30) in (0, -signal.SIGTERM)
    assert "Finished server process" in endpoint.log_path.read_text()
    endpoint.delete()


def test_deploy_handle_lifecycle_and_workers(kmeans_dir: Path) -> None:
    with deploy_local(kmeans_dir, workers=2) as endpoint:
        assert endpoint.url.startswith("http://127.0.0.1:")
        for _ in range(4):
            assert endpoint.predict([[0, 0, 0, 0]], accept="application/jsonlines")[
                "closest_cluster"
            ].shape == (1,)
        process = endpoint.process
    assert process.poll() is not None and not endpoint.alive
    endpoint.delete()  # idempotent


def test_deploy_failures_are_clear(tmp_path: Path) -> None:
    with pytest.raises(EndpointError, match="no such file"):
        deploy_local(tmp_path / "missing")
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(EndpointError, match="not valid JSON"):
        deploy_local(tmp_path, startup_timeout_s=60)


def test_cli_serve_with_sagemaker_root(kmeans_dir: Path, tmp_path: Path) -> None:
    import shutil

    root = tmp_path / "ml"
    shutil.copytree(kmeans_dir, root / "model")
    port = subprocess.run(
        [
            sys.executable,
            "-c",
            "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = dict(os.environ, SAGEMAKER_BIND_TO_PORT=port)
    server = subprocess.Popen(
        [sys.executable, "-m", "sagespark.cli", "serve", "--root", str(root)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if _get(url, "/ping")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        status, body, _ = _post(
            url, encode_request(np.zeros((3, 4), np.float32), "text/csv"), {"Content-Type": "text/csv"}
        )
        assert status == 200 and len(json.loads(body)["predictions"]) == 3
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) in (0, -signal.SIGTERM)
