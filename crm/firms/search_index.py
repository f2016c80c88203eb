"""The firm search's FTS5 index on SQLite (``firm_fts``, crm.firms.search) kept compact.

FTS5 writes its index as segments: each transaction that adds or changes firms adds one (a bulk
load many), and its automatic merging keeps up to about four per level. A search looks every
query trigram up in every segment, and the two-character search reads the index's vocabulary,
which merges them all: at city scale the index held 13–24 segments after the demo load, and one
merged segment made the trigram lookups 2–5 times faster ('hp' 0.15 → 0.03 ms, '汽车'
1.6 → 0.8 ms on 13 segments; 4.8 → 0.3 ms on 24).

- after a bulk load (the demo data, a large import) the index is merged into one segment in the
  load's own transaction (``optimize``: about a second for the city's 50,000 firms);
- the scheduled job ``compact_search_index`` (``compact``) merges it again when the day's
  changes have left more than ``COMPACT_ABOVE`` segments, in small steps of
  ``MERGE_PAGES`` pages, each its own short write transaction, so the office's writes pass
  between them.

PostgreSQL's GIN index needs none of this: every function here does nothing there."""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlmodel import Session

from crm.db import begin_write

log = logging.getLogger(__name__)

# pages FTS5 writes in one merge step: about 40 ms of the write lock on the city's index
MERGE_PAGES = 200
# segments left alone (automerge keeps about this many per level between runs)
COMPACT_ABOVE = 4
# a run stops after this many steps (the city's whole index takes about 25); the next goes on
MAX_STEPS = 200
# the pause between two steps, in seconds: a waiting writer takes the lock in between
STEP_PAUSE = 0.02
# an import of at least this many firms merges the index in its own transaction
BULK_ROWS = 1000

_SEGMENTS = text("SELECT count(DISTINCT segid) FROM firm_fts_idx")
_OPTIMIZE = text("INSERT INTO firm_fts(firm_fts) VALUES ('optimize')")
_MERGE = text("INSERT INTO firm_fts(firm_fts, rank) VALUES ('merge', :pages)")


def _sqlite(bind: Any) -> bool:
    return bool(bind.dialect.name == "sqlite")


def segments(conn: Connection | Session) -> int:
    """How many segments the index holds (SQLite; 0 on PostgreSQL)."""
    if not _sqlite(conn.get_bind() if isinstance(conn, Session) else conn):
        return 0
    return int(conn.execute(_SEGMENTS).scalar() or 0)


def optimize(conn: Connection | Session) -> None:
    """Merge the index into one segment, in the caller's transaction (after a bulk load; SQLite
    only)."""
    if _sqlite(conn.get_bind() if isinstance(conn, Session) else conn):
        conn.execute(_OPTIMIZE)


def compact(
    engine: Engine,
    *,
    above: int = COMPACT_ABOVE,
    pages: int = MERGE_PAGES,
    max_steps: int = MAX_STEPS,
    pause: float = STEP_PAUSE,
) -> int:
    """Merge the index's segments into one when it holds more than ``above``, ``pages`` pages
    at a time, each step its own write transaction; the steps that merged (0: nothing to do,
    or not SQLite).

    The first step asks FTS5 for a full merge (a negative page count: every segment, any
    level); the following ones carry that merge on (positive: segments a firm's change adds
    meanwhile join the next run, not this one). A step that changes nothing ends it."""
    if not _sqlite(engine):
        return 0
    steps = 0
    with Session(engine) as s:
        n = segments(s)
        s.rollback()
        if n <= above:
            return 0
        size = -abs(pages)
        while steps < max_steps:
            begin_write(s)
            dbapi: Any = s.connection().connection.driver_connection
            before = dbapi.total_changes
            s.execute(_MERGE, {"pages": size})
            done = dbapi.total_changes - before
            s.commit()
            if done < 2:  # FTS5: a step that merged nothing changes fewer than two rows
                break
            steps += 1
            size = abs(pages)
            time.sleep(pause)
    if steps:
        log.info("firm search index: %s segments merged in %s steps", n, steps)
    return steps
