"""One scheduler per database: a leader lock held for the life of the process.

PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection (the server drops the lock when
that connection or its process dies). SQLite: an exclusive ``fcntl.flock`` on a file beside the
database (the kernel drops it when the process dies). Contenders call ``try_acquire`` again
every ~15 s and take over when the holder is gone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from crm.dbuse import try_flock

log = logging.getLogger("crm.jobs")

# an arbitrary 64-bit key: "crm scheduler"
ADVISORY_KEY = 0x63726D5F73636864


def lock_file_for(url: str) -> Path:
    u = make_url(url)
    db = u.database or ""
    if not db or db == ":memory:":
        return Path(os.environ.get("TMPDIR", "/tmp")) / "crm-scheduler.lock"
    return Path(db).with_name(Path(db).name + ".scheduler.lock")


class LeaderLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.held = False
        self._conn: Any = None
        self._fd: int | None = None

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True when this process holds it (now or already)."""
        if self.held:
            return self.still_held()
        if self.is_postgres:
            conn = self.engine.connect()
            try:
                got = bool(
                    conn.execute(
                        text("select pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
                    ).scalar()
                )
                conn.commit()
            except Exception:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self._conn = conn
        else:
            fd = try_flock(lock_file_for(str(self.engine.url)), fcntl.LOCK_EX)
            if fd is None:
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
        self.held = True
        return True

    def still_held(self) -> bool:
        """False when the lock's connection broke (the server let the lock go)."""
        if not self.held:
            return False
        if self._conn is not None:
            try:
                self._conn.execute(text("select 1"))
                self._conn.commit()
            except Exception:  # the connection is gone, and the lock with it
                log.warning("scheduler lock connection lost")
                self.release()
                return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            # closing the connection releases the lock anyway
            with contextlib.suppress(Exception):
                self._conn.execute(text("select pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._conn.commit()
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None
        self.held = False
