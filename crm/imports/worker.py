"""The thread that runs this process's imports, off the request loop.

:func:`kick` asks it to drain the queue (after an upload, when a page polls a queued run, at
start-up); it returns at once. One thread per process, and one running import at a time
across all processes (``crm.imports.runs.claim_next``)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from crm.imports import runs

log = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-import")
_lock = threading.Lock()
_pending: Future[int] | None = None
_again = False


def _drain() -> int:
    global _again
    n = 0
    while True:
        try:
            n += runs.drain()
        except Exception:  # the next kick tries again
            log.exception("import worker: drain failed")
        with _lock:
            if not _again:
                return n
            _again = False


def kick() -> Future[int]:
    """Drain the queue in the worker thread (a kick while it drains makes it look again)."""
    global _pending, _again
    with _lock:
        if _pending is not None and not _pending.done():
            _again = True
            return _pending
        _pending = _executor.submit(_drain)
        return _pending


def wait_idle(timeout: float | None = None) -> None:
    """Wait until the worker has nothing left to do (tests, shutdown)."""
    with _lock:
        pending = _pending
    if pending is not None:
        pending.result(timeout)
