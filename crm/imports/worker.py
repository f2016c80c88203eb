"""Where imports run: a worker process of their own, off the web processes.

:func:`kick` (after an upload, when a page polls a queued run, at start-up) starts
``python -m crm.imports.worker`` unless this process's worker still runs (then it is asked to
look again when it is done), and returns at once. The worker drains the queue — it claims runs
through the ``import_run`` table (``crm.imports.runs.claim_next``: one running import at a time
across all processes) — then exits, so its memory goes back to the system after every batch
and no web process ever parses a workbook or holds an import's rows. It runs at a lower CPU
priority than the pages. Killed in the middle, its transaction dies with it: no row of the
import stays, and the run is marked failed (``crm.imports.runs.recover_stale``).

With the setting ``import_worker = "thread"`` the runs are drained by a thread of the process
that queued them instead (tests that hold an import in the middle from inside the process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from crm import db
from crm.config import get_settings
from crm.dbuse import InUse
from crm.errors import CRMError
from crm.imports import runs

log = logging.getLogger(__name__)

NICE = 10  # the worker's CPU priority below the web processes'
# SQLite's page cache per connection in the worker (KiB): a quarter of the web's, which keeps
# its peak memory within SPEC's 512 MB through a 50,000-row import
CACHE_KIB = 16384

_lock = threading.Lock()
_again = False
# process mode: this process's worker
_proc: subprocess.Popen[bytes] | None = None
# thread mode
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-import")
_pending: Future[int] | None = None


def _drain_in_thread() -> int:
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


def _spawn() -> None:
    """Start a worker process (with ``_lock`` held) and a thread that waits for it."""
    global _proc
    env = {**os.environ, "CRM_DATABASE_URL": get_settings().database_url}
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm.imports.worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            close_fds=True,
        )
    except OSError:  # the queued run waits for the next kick (its page's poll)
        log.exception("import worker: cannot start a process")
        _proc = None
        return
    _proc = proc
    threading.Thread(target=_reap, args=(proc,), name="crm-import-reaper", daemon=True).start()


def _reap(proc: subprocess.Popen[bytes]) -> None:
    global _again, _proc
    code = proc.wait()
    if code:
        log.warning("import worker %s exited with %s", proc.pid, code)
    with _lock:
        if _proc is proc:
            _proc = None
            if _again:
                _again = False
                _spawn()


def kick() -> None:
    """Have the queue drained off the request loop (a kick while it drains makes it look
    again when it is done)."""
    global _pending, _again
    in_thread = get_settings().import_worker == "thread"
    with _lock:
        if in_thread:
            if _pending is not None and not _pending.done():
                _again = True
            else:
                _pending = _executor.submit(_drain_in_thread)
            return
        if _proc is not None and _proc.poll() is None:
            _again = True
            return
    # no process started for nothing (every web process kicks at start-up)
    try:
        if not runs.has_queued():
            return
    except Exception:  # e.g. a database not migrated yet: the page's poll kicks again
        log.warning("import worker: the queue could not be read", exc_info=True)
        return
    with _lock:
        if _proc is not None and _proc.poll() is None:
            _again = True
            return
        _spawn()


def wait_idle(timeout: float = 600) -> None:
    """Wait until this process's worker has nothing left to do (tests, the benchmark)."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            proc, pending, again = _proc, _pending, _again
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the import worker is still busy")
        if proc is not None and proc.poll() is None:
            proc.wait(left)
        elif pending is not None and not pending.done():
            pending.result(left)
        elif proc is not None or again:  # exited, about to be reaped (and started again)
            time.sleep(0.05)
        else:
            return


def peak_memory_mb() -> float:
    """This process's peak resident memory (Linux: VmHWM), in MB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def main() -> int:
    """The worker process: drain the queue, then exit."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    with contextlib.suppress(OSError):
        os.nice(NICE)
    db.SQLITE_CACHE_KIB = CACHE_KIB  # before its first connection
    try:  # like the web and the scheduler: `crm restore` refuses while it runs
        in_use = InUse(get_settings().database_url).acquire()
    except CRMError as exc:
        log.warning("import worker: %s", exc.message.render("en"))
        return 1
    n = 0
    try:
        while (run_id := runs.claim_next()) is not None:
            t0 = time.perf_counter()
            status = runs.execute(run_id)
            n += 1
            ru = resource.getrusage(resource.RUSAGE_SELF)
            log.info(
                "import run %s %s in %.1f s (worker %s: CPU %.1f s, peak memory %.0f MB)",
                run_id,
                status,
                time.perf_counter() - t0,
                os.getpid(),
                ru.ru_utime + ru.ru_stime,
                peak_memory_mb(),
            )
    finally:
        in_use.release()
    return 0


if __name__ == "__main__":
    sys.exit(main())
