"""One torch intra-op thread while a rank trains in small steps.

A mini-batch step works on thousands of values, far below what pays for a thread team: on a busy
machine the team's spin-waits made steps tens of times slower. The ranks are the parallelism, so
algorithms whose steps are small train with one intra-op thread and restore the setting afterwards.

Examples
--------
>>> import torch
>>> before = torch.get_num_threads()
>>> with one_intra_op_thread():
...     torch.get_num_threads()
1
>>> torch.get_num_threads() == before
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["one_intra_op_thread"]


@contextmanager
def one_intra_op_thread(enabled: bool = True) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)`` when ``enabled``; restore the count after."""
    if not enabled:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
