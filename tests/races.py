"""Two writers at once, for the tests of check-then-write rules: the first holds its write
(flushed, not committed) while a second, in a thread, starts as a writing request does and
must wait for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm.db import begin_write, get_engine


def wait_until_blocked(engine: Engine, seconds: float = 20.0) -> None:
    """PostgreSQL: until a transaction waits for a row lock (the second writer reached it);
    SQLite: a moment (its second writer waits on the database lock)."""
    if engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    end = time.monotonic() + seconds
    with engine.connect() as c:
        while time.monotonic() < end:
            n = c.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE NOT granted").scalar()
            if n:
                return
            c.rollback()
            time.sleep(0.02)


def second_writer(work: Callable[[Session], Any]) -> tuple[threading.Thread, list[Any]]:
    """``work`` in its own session and thread, begun as a writing request begins and committed
    after; the list gets what it returned, or the exception it raised (rolled back)."""
    outcome: list[Any] = []

    def run() -> None:
        with Session(get_engine()) as s:
            try:
                begin_write(s)
                result = work(s)
                s.commit()
                outcome.append(result)
            except Exception as exc:  # the refusal under test, reported to the test
                s.rollback()
                outcome.append(exc)

    t = threading.Thread(target=run)
    t.start()
    wait_until_blocked(get_engine())
    return t, outcome
