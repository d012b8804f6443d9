"""The last log lines of a training worker, kept so a failure can say what the worker was doing.

Each barrier task captures the ``sagespark.train`` logger (what :meth:`TrainContext.log` writes) and
Python warnings into a bounded ring buffer, and echoes them to the executor's stderr at INFO so per-epoch
lines show up in the executor log (and on the console in ``local`` mode).

Examples
--------
>>> import logging
>>> from sagespark.distributed.logtail import capture_worker_logs
>>> with capture_worker_logs(rank=0, echo=False) as tail:
...     logging.getLogger("sagespark.train").info("epoch 1: loss=0.5")
>>> tail.lines()[-1].endswith("epoch 1: loss=0.5")
True
"""

from __future__ import annotations

import collections
import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["LogTail", "capture_worker_logs", "TRAIN_LOGGER"]

TRAIN_LOGGER = "sagespark.train"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class LogTail(logging.Handler):
    """A logging handler that keeps the last ``capacity`` formatted records."""

    def __init__(self, capacity: int = 200) -> None:
        super().__init__(logging.DEBUG)
        self._lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self.setFormatter(logging.Formatter(_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:  # a broken log call must never take training down
            self.handleError(record)

    def lines(self, last: int | None = None) -> list[str]:
        """The kept lines, oldest first (the ``last`` ones when given)."""
        kept = list(self._lines)
        return kept if last is None else kept[-last:]

    def text(self, last: int = 50) -> str:
        """The last ``last`` lines joined by newlines (``"(no log lines)"`` when empty)."""
        return "\n".join(self.lines(last)) or "(no log lines)"


@contextmanager
def capture_worker_logs(rank: int, *, capacity: int = 200, echo: bool = True) -> Iterator[LogTail]:
    """Capture ``sagespark.train`` records and warnings of this process while the block runs.

    Parameters
    ----------
    rank : int
        Shown in the echoed lines' prefix.
    capacity : int
        How many lines the ring buffer keeps.
    echo : bool
        Also write INFO and above to stderr (the executor log).

    The loggers' previous levels and handlers are restored afterwards, so a reused Spark Python worker
    does not print every line twice in its next task.
    """
    tail = LogTail(capacity)
    train_logger = logging.getLogger(TRAIN_LOGGER)
    warn_logger = logging.getLogger("py.warnings")
    handlers: list[logging.Handler] = [tail]
    if echo:
        stderr = logging.StreamHandler(sys.stderr)
        stderr.setLevel(logging.INFO)
        stderr.setFormatter(logging.Formatter(f"[sagespark rank {rank}] {_FORMAT}"))
        handlers.append(stderr)
    saved = [(lg, lg.level, lg.propagate) for lg in (train_logger, warn_logger)]
    for lg in (train_logger, warn_logger):
        for handler in handlers:
            lg.addHandler(handler)
        if lg.getEffectiveLevel() > logging.INFO:
            lg.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        with warnings.catch_warnings():
            # Show each distinct warning once per task, so the tail records it even if seen before.
            warnings.simplefilter("default")
            yield tail
    finally:
        logging.captureWarnings(False)
        for lg, level, propagate in saved:
            for handler in handlers:
                lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate
