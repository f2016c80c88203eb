"""The database's "in use" lock: every app and scheduler process holds it shared for its life,
and ``crm restore`` takes it exclusively, so a restore never swaps the database under a running
process (which would go on acknowledging writes into a file that no longer exists).

SQLite: ``fcntl.flock`` on a file beside the database. PostgreSQL: an advisory lock on a
dedicated connection. The kernel or the server drops either when the process dies."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from crm.errors import ValidationFailed
from crm.i18n import _l

# an arbitrary 64-bit key: "crm_use!"
USE_KEY = 0x63726D5F75736521


def lock_file_for(url: str) -> Path | None:
    db = make_url(url).database or ""
    if not db or db == ":memory:":
        return None
    return Path(db).with_name(Path(db).name + ".inuse.lock")


def try_flock(path: Path, operation: int) -> int | None:
    """Open (or create) ``path`` and take ``fcntl.flock(operation)`` on it without waiting:
    the open descriptor, or None when another process holds a lock that excludes it. The
    kernel drops the lock when the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _pg_connect(url: str) -> Any:
    import psycopg

    u = make_url(url).set(drivername="postgresql")
    return psycopg.connect(u.render_as_string(hide_password=False), autocommit=True)


class InUse:
    """Held (shared) by a process that uses the database, from start to stop."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._fd: int | None = None
        self._conn: Any = None

    def acquire(self) -> InUse:
        """Take the shared lock; refuse to start while a restore holds it."""
        if make_url(self.url).get_backend_name() == "postgresql":
            conn = _pg_connect(self.url)
            got = conn.execute("select pg_try_advisory_lock_shared(%s)", (USE_KEY,)).fetchone()[0]
            if not got:
                conn.close()
                raise ValidationFailed(_l("数据库正在恢复，请稍后再启动"))
            self._conn = conn
            return self
        path = lock_file_for(self.url)
        if path is None:
            return self
        fd = try_flock(path, fcntl.LOCK_SH)
        if fd is None:
            raise ValidationFailed(_l("数据库正在恢复，请稍后再启动"))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


IN_USE_MESSAGE = _l("数据库正在被使用（应用或定时任务正在运行）：请先停止它们再恢复")


@contextlib.contextmanager
def exclusively(url: str) -> Iterator[Any]:
    """Hold the lock exclusively (a restore); refuse when any process holds it. Yields the
    PostgreSQL connection that holds it (None on SQLite)."""
    if make_url(url).get_backend_name() == "postgresql":
        conn = _pg_connect(url)
        try:
            got = conn.execute("select pg_try_advisory_lock(%s)", (USE_KEY,)).fetchone()[0]
            if not got:
                raise ValidationFailed(IN_USE_MESSAGE)
            yield conn
        finally:
            conn.close()
        return
    path = lock_file_for(url)
    if path is None:
        yield None
        return
    fd = try_flock(path, fcntl.LOCK_EX)
    if fd is None:
        raise ValidationFailed(IN_USE_MESSAGE)
    try:
        yield None
    finally:
        os.close(fd)
