"""Writing the checked firm rows of an import in bulk: the firms (built by ``create_firm``'s
row builder, :mod:`crm.firms.rows`), their aliases, clusters and parents, a batch at a time, and
SQLite's search index filled in one statement instead of by its trigger row by row."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import bindparam, select, text, update
from sqlmodel import Session

from crm.db import allocate_ids
from crm.firms.rows import alias_values, firm_values
from crm.firms.schemas import FirmCreate
from crm.firms.search_index import BULK_ROWS, optimize
from crm.imports import progress
from crm.imports.common import _insert_many
from crm.models.firms import Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster
from crm.text import normalize_name, pinyin_many
from crm.types import utcnow

BATCH = 5_000  # firms built and written at a time

# a row that passed its checks: (row, input, cluster codes, parent's name, owner id)
Good = tuple[int, FirmCreate, list[str], str | None, int | None]

_FTS_TRIGGER = "firm_fts_ai"
# the body of the SQLite trigger that indexes a new firm: INSERT INTO firm_fts(...) VALUES (...)
# (exactly this shape — no WHEN clause, one statement — or the trigger is left to do its work)
_FTS_TRIGGER_BODY = re.compile(
    r"^\s*CREATE\s+TRIGGER\s+\"?firm_fts_ai\"?\s+AFTER\s+INSERT\s+ON\s+\"?firm\"?\s+"
    r"(?:FOR\s+EACH\s+ROW\s+)?BEGIN\s+(INSERT\s+INTO\s+firm_fts\s*\([^()]*\))\s*"
    r"VALUES\s*\(([^;]*)\)\s*;\s*END\s*$",
    re.I | re.S,
)


@contextmanager
def _firm_search_index_in_bulk(session: Session) -> Iterator[Callable[[int, int], None]]:
    """Insert many firms, then index them in the search table in one statement.

    On SQLite the trigger ``firm_fts_ai`` adds each new firm to the FTS5 table ``firm_fts`` row
    by row, which is slow for a large import (two thirds of the time of 50,000 rows). Inside the
    caller's transaction the trigger is dropped, the firms inserted, the caller reports the range
    of ids it inserted and they are indexed by the trigger's own statement run once over them
    (``INSERT INTO firm_fts(..) SELECT <the trigger's values> FROM firm AS new``), then the
    trigger is recreated from its stored SQL. SQLite's DDL is transactional: a rollback restores
    the trigger and leaves the index untouched, and no other connection can write (or see the
    trigger missing) meanwhile. PostgreSQL (a GIN index, no trigger) needs none of this."""
    bulk: tuple[str, str] | None = None  # (the trigger's SQL, its statement over a range)
    if session.get_bind().dialect.name == "sqlite":
        sql: str = (
            session.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
                {"n": _FTS_TRIGGER},
            ).scalar()
            or ""
        )
        m = _FTS_TRIGGER_BODY.search(sql)
        if m:  # a trigger of another shape is left alone: it then indexes row by row
            bulk = (
                sql,
                f"{m.group(1)} SELECT {m.group(2)} FROM firm AS new "
                "WHERE new.id BETWEEN :lo AND :hi",
            )
    if bulk is not None:
        # pysqlite opens its transaction only before an INSERT/UPDATE/DELETE: a DROP TRIGGER
        # as the first write would run (and be committed) on its own. Open it first; IMMEDIATE
        # also takes the write lock now, which allocate_ids relies on.
        # (bulk is only set on SQLite: the driver's connection is sqlite3's)
        dbapi = cast(sqlite3.Connection, session.connection().connection.driver_connection)
        if not dbapi.in_transaction:
            dbapi.execute("BEGIN IMMEDIATE")
        if not dbapi.in_transaction:
            bulk = None
    if bulk is None:
        yield lambda lo, hi: None
        return
    create, index_range = bulk
    session.execute(text(f"DROP TRIGGER {_FTS_TRIGGER}"))

    def index(lo: int, hi: int) -> None:
        session.execute(text(index_range), {"lo": lo, "hi": hi})

    try:
        yield index
    finally:
        session.execute(text(create))


def write_firms(
    session: Session, good: list[Good], existing: Callable[[str], int | None]
) -> list[int]:
    """The firms, their aliases, clusters and parents, written in bulk; their ids. A parent is
    a row of the same file or a firm ``existing`` finds by name."""
    now = utcnow()
    by_norm: dict[str, int] = {}
    code_ids = dict(session.execute(select(Cluster.code, Cluster.id)).all())
    alias_rows: list[dict[str, Any]] = []
    fc_rows: list[dict[str, Any]] = []
    with _firm_search_index_in_bulk(session) as indexed:
        ids = allocate_ids(session, "firm", len(good))
        for start in range(0, len(good), BATCH):
            batch = good[start : start + BATCH]
            pinyins = pinyin_many([d.name_zh for _i, d, _c, _p, _o in batch])
            firm_rows: list[dict[str, Any]] = []
            for (_i, d, cl, _p, owner_id), names_, fid in zip(
                batch, pinyins, ids[start : start + BATCH], strict=True
            ):
                # the one firm-row builder, shared with create_firm (crm/firms/rows.py)
                row = firm_values(d, source="import", now=now, owner_id=owner_id, pinyin=names_)
                row["id"] = fid
                by_norm[row["name_norm"]] = fid
                firm_rows.append(row)
                alias_rows.extend(alias_values(fid, d.aliases))
                fc_rows.extend(
                    {"firm_id": fid, "cluster_id": code_ids[code]} for code in dict.fromkeys(cl)
                )
            _insert_many(session, Firm.__table__, firm_rows)
            progress.tick("importing", start + len(batch), len(good))
        if ids:
            indexed(ids[0], ids[-1])
    if len(ids) >= BULK_ROWS:  # the search index in one segment again (SQLite)
        optimize(session)
    parent_rows: list[dict[str, Any]] = []
    for (_i, _d, _cl, parent, _o), fid in zip(good, ids, strict=True):
        if parent:
            pid = by_norm.get(normalize_name(parent)) or existing(parent)
            if pid and pid != fid:
                parent_rows.append({"b_id": fid, "b_parent": pid})
    for rows_, model in ((alias_rows, FirmAlias), (fc_rows, FirmCluster)):
        _insert_many(session, model.__table__, rows_)
    if parent_rows:
        session.execute(
            update(Firm.__table__)
            .where(Firm.__table__.c.id == bindparam("b_id"))
            .values(parent_id=bindparam("b_parent")),
            parent_rows,
        )
    return ids
