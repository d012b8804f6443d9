"""The ``sagespark`` command: ``serve``, ``train`` and ``transform``, SageMaker's container contract.

A container image built on sagespark needs no glue: ``sagespark train`` reads and writes SageMaker's
``/opt/ml`` layout, and ``sagespark serve`` with the same root hosts what it wrote.

Examples
--------
.. code-block:: console

    $ sagespark train --algorithm kmeans --root /opt/ml
    $ sagespark serve --root /opt/ml --port 8080
    $ sagespark transform --model-dir model/ --input in/ --output out/ \\
          --content-type text/csv --split-type Line --accept application/jsonlines
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="sagespark", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="Host a model behind SageMaker's HTTP contract.")
    serve.add_argument("--model-dir", help="Artifact directory or model.tar.gz (default: <root>/model).")
    serve.add_argument("--root", default=None, help="SageMaker layout root (default /opt/ml).")
    serve.add_argument("--host", default=None, help="Address to bind (default 127.0.0.1).")
    serve.add_argument(
        "--port", type=int, default=None, help="Port (default $SAGEMAKER_BIND_TO_PORT or 8080)."
    )
    serve.add_argument("--workers", type=int, default=None, help="Server processes sharing the port.")
    serve.add_argument("--access-log", action="store_true", help="Log every request.")
    # Used by deploy_local: the server shuts down (gracefully) when this process is gone.
    serve.add_argument("--exit-with-parent", type=int, default=None, help=argparse.SUPPRESS)

    train = sub.add_parser("train", help="Run a SageMaker-style training job from an /opt/ml layout.")
    train.add_argument(
        "--algorithm", default=None, help="Registered algorithm (default $SAGESPARK_ALGORITHM)."
    )
    train.add_argument("--root", default="/opt/ml", help="SageMaker layout root (default /opt/ml).")

    transform = sub.add_parser("transform", help="Batch transform: one <file>.out per input file.")
    transform.add_argument("--model-dir", required=True, help="Artifact directory or model.tar.gz.")
    transform.add_argument("--input", required=True, help="An input file or a folder of them.")
    transform.add_argument("--output", required=True, help="Output folder.")
    transform.add_argument("--content-type", default="text/csv", help="Media type of the input files.")
    transform.add_argument("--split-type", default="Line", choices=["None", "Line", "RecordIO"])
    transform.add_argument("--accept", default=None, help="Output media type (default application/json).")
    transform.add_argument("--max-payload-mb", type=int, default=None, help="Batch bound (default 6 MB).")
    transform.add_argument(
        "--batch-strategy", default="MULTI_RECORD", choices=["MULTI_RECORD", "SINGLE_RECORD"]
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    from sagespark.hosting.config import ServerConfig
    from sagespark.hosting.served_model import resolve_model_path
    from sagespark.hosting.server import serve

    root = args.root if args.root is not None or args.model_dir is not None else "/opt/ml"
    path = resolve_model_path(args.model_dir, root)
    config = ServerConfig.from_env(host=args.host, port=args.port, workers=args.workers)
    serve(path, config, access_log=args.access_log, parent_pid=args.exit_with_parent)
    return 0


def _train(args: argparse.Namespace) -> int:
    from sagespark.jobs.training_job import run_training_job

    return run_training_job(args.root, algorithm=args.algorithm)


def _transform(args: argparse.Namespace) -> int:
    from sagespark.hosting.batch_transform import run_batch_transform

    summary = run_batch_transform(
        args.model_dir,
        args.input,
        args.output,
        content_type=args.content_type,
        split_type=args.split_type,
        accept=args.accept,
        max_payload_mb=args.max_payload_mb,
        batch_strategy=args.batch_strategy,
    )
    print(summary.describe())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sagespark`` console script; returns the exit status.

    Errors sagespark raises on purpose are printed as one line (no traceback) with exit status 1.
    """
    from sagespark.errors import SageSparkError

    args = build_parser().parse_args(argv)
    handlers = {"serve": _serve, "train": _train, "transform": _transform}
    try:
        return handlers[args.command](args)
    except (SageSparkError, ValueError, OSError) as err:
        print(f"sagespark {args.command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
