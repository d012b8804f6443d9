"""Serving throughput: sagespark's endpoint vs a minimal FastAPI app around the same Predictor.

For K-Means and PCA models, a separate load-generator process (asyncio, keep-alive HTTP/1.1, one
connection per concurrent client) sends 1-row and 1,000-row CSV requests to each server on loopback and
records requests/s, rows/s and p50/p99 latency. Both servers run on uvicorn (uvloop + httptools, one
worker, no access log) and use the same codecs, so the difference is the application layer.

Usage::

    .venv/bin/python bench/bench_serving.py --duration 3          # quick
    .venv/bin/python bench/bench_serving.py --duration 20 --json out.json

Example output line::

    kmeans   1000 rows  sagespark   412.3 req/s  412300 rows/s  p50 37.1 ms  p99 52.0 ms
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

FASTAPI_APP = textwrap.dedent(
    '''
    """A minimal FastAPI app calling the same Predictor and codecs as sagespark's server."""
    import os

    from fastapi import FastAPI, Request, Response

    from sagespark.formats.text import decode_request, encode_response
    from sagespark.hosting.served_model import load_served_model

    model = load_served_model(os.environ["BENCH_MODEL_DIR"])
    app = FastAPI()


    @app.get("/ping")
    async def ping() -> Response:
        return Response(status_code=200)


    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        body = await request.body()
        features = decode_request(body, request.headers.get("content-type", "text/csv"),
                                  feature_dim=model.feature_dim)
        outputs = model.predictor.predict({"features": features})
        payload = encode_response(outputs, "application/json", names=model.output_names,
                                  response_key=model.response_key)
        return Response(content=payload, media_type="application/json")
    '''
)


# -- load generator (runs in its own process) ------------------------------------------------
async def _client(host: str, port: int, request: bytes, stop_at: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            if status != 200:
                raise RuntimeError(f"HTTP {status}")
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(
    url: str, body: bytes, content_type: str, duration: float, concurrency: int
) -> dict[str, float]:
    host, port = url.split("://")[1].split(":")
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    warm: list[float] = []
    await asyncio.gather(
        *[_client(host, int(port), request, time.perf_counter() + 0.5, warm) for _ in range(concurrency)]
    )
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(
        *[_client(host, int(port), request, started + duration, latencies) for _ in range(concurrency)]
    )
    elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1e3
    return {
        "requests": len(latencies),
        "req_per_s": len(latencies) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)) if len(lat) else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if len(lat) else float("nan"),
    }


def _loadgen_main(argv: list[str]) -> None:
    url, body_path, content_type, duration, concurrency = argv
    body = Path(body_path).read_bytes()
    print(json.dumps(asyncio.run(_load(url, body, content_type, float(duration), int(concurrency)))))


# -- orchestration -----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ping(url: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    import http.client

    host, port = url.split("://")[1].split(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not answer /ping")


def _train(name: str, directory: Path, dim: int) -> None:
    from sagespark.algorithms import ChannelData, get_algorithm
    from sagespark.algorithms.artifact import save_artifact
    from sagespark.distributed.context import LocalContext

    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, dim)).astype(np.float32)
    algorithm = get_algorithm(name)
    params = {"k": 10} if name == "kmeans" else {"num_components": 8, "mini_batch_size": 1000}
    data = ChannelData(x)
    hp = algorithm.infer_hyperparameters(algorithm.hyperparameters.from_dict(params), data)
    result = algorithm.train(LocalContext(), {"train": data}, hp)
    save_artifact(directory, algorithm, hp, result.state, result.metrics)


def _start(kind: str, model_dir: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    if kind == "sagespark":
        command = [
            sys.executable,
            "-m",
            "sagespark.cli",
            "serve",
            "--model-dir",
            str(model_dir),
            "--port",
            str(port),
        ]
        env = dict(os.environ)
    else:
        (work / "bench_fastapi_app.py").write_text(FASTAPI_APP)
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "bench_fastapi_app:app",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        env = dict(os.environ, BENCH_MODEL_DIR=str(model_dir), PYTHONPATH=str(work))
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work
    )
    _wait_ping(url, process)
    return process, url


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--loadgen":
        _loadgen_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds of load per measurement.")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--dim", type=int, default=50, help="Feature dimension of the models.")
    parser.add_argument("--rows", default="1,1000", help="Rows per request, comma-separated.")
    parser.add_argument("--algorithms", default="kmeans,pca")
    parser.add_argument("--json", default=None, help="Also write the results to this file.")
    args = parser.parse_args()

    from sagespark.formats.text import encode_request

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        for name in args.algorithms.split(","):
            model_dir = work / name
            _train(name, model_dir, args.dim)
            for rows in [int(r) for r in args.rows.split(",")]:
                x = np.random.default_rng(rows).normal(size=(rows, args.dim)).astype(np.float32)
                body_path = work / f"body-{rows}.csv"
                body_path.write_bytes(encode_request(x, "text/csv"))
                for kind in ("sagespark", "fastapi"):
                    process, url = _start(kind, model_dir, work)
                    try:
                        out = subprocess.run(
                            [
                                sys.executable,
                                __file__,
                                "--loadgen",
                                url,
                                str(body_path),
                                "text/csv",
                                str(args.duration),
                                str(args.concurrency),
                            ],
                            capture_output=True,
                            text=True,
                            check=True,
                        )
                    finally:
                        process.terminate()
                        process.wait(30)
                    stats = json.loads(out.stdout)
                    stats.update(algorithm=name, rows=rows, server=kind, rows_per_s=stats["req_per_s"] * rows)
                    results.append(stats)
                    print(
                        f"{name:7s} {rows:5d} rows  {kind:9s} {stats['req_per_s']:8.1f} req/s "
                        f"{stats['rows_per_s']:10.0f} rows/s  p50 {stats['p50_ms']:7.2f} ms  "
                        f"p99 {stats['p99_ms']:7.2f} ms",
                        flush=True,
                    )
                ours, peer = results[-2]["req_per_s"], results[-1]["req_per_s"]
                print(f"{name:7s} {rows:5d} rows  sagespark / fastapi = {ours / peer:.2f}x", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
