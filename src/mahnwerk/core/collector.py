"""Python's cyclic garbage collector held off while a large piece of work builds objects without cycles."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_paused = 0  # works in this process that hold the collector off
_lock = threading.Lock()
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector held off while the block runs, and back as it was after the last one.

    A collection run or a large import keeps hundreds of thousands of objects alive (decisions, claims,
    a file's rows and cells), which every full collection walks again: a quarter to a third of their time
    went to it. What they leave behind is freed by reference counting as ever; the little cyclic garbage
    they make is collected once the collector is back. Nested and concurrent users (threads of one
    server) are counted, so the collector comes back only after the last of them."""
    global _paused, _resume
    with _lock:
        if _paused == 0:
            _resume = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _resume:
                gc.enable()
