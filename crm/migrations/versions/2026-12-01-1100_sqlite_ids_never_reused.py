"""SQLite never hands out a deleted row's id again: the tables whose ids the audit trail, a
merge's undo, notices and links name become AUTOINCREMENT (ATTACK7 P2-7). Without it SQLite gives
a new row max(id) + 1, so a new firm took the id of the firm just merged away or deleted and the
old firm's history (and its merge's undo) attached to the new one.

SQLite cannot add AUTOINCREMENT in place: each table is rebuilt (SQLite's own procedure, what
Alembic's batch mode does) from its stored ``CREATE TABLE`` text with only the key changed — so
its columns, CHECK constraints and foreign keys stay exactly as they were — then its indexes,
triggers (``firm``'s full-text ones) and statistics are put back as they were. ``sqlite_sequence``
starts above the largest id the table or the audit trail ever held, so the ids of rows deleted
before this migration are not handed out again either. The environment runs SQLite migrations in
one real transaction with foreign keys off (``crm/migrations/env.py``); the rebuild checks them
before it ends. PostgreSQL: nothing to do (a sequence never goes back).

Revision ID: 0017_sqlite_ids_never_reused
Revises: 0016_coverage_covering_index
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy.engine import Connection

revision: str = "0017_sqlite_ids_never_reused"
down_revision: str | None = "0016_coverage_covering_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table → the entity name its audit rows carry
TABLES = {
    "department": "department",
    "user_account": "user",
    "firm": "firm",
    "firm_alias": "firm_alias",
    "contact": "contact",
    "project": "project",
    "capital_arrival": "capital_arrival",
    "activity": "activity",
    "followup": "followup",
}

_PLAIN_KEY = re.compile(r"\bid INTEGER NOT NULL,(\s*)")
_PLAIN_PK = re.compile(r"\s*PRIMARY KEY \(id\),")
_AUTO_KEY = re.compile(r"\bid INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,(\s*)")
_HEAD = re.compile(r'^CREATE TABLE ("?)(\w+)\1 \(')


def _one(pattern: re.Pattern[str], repl: str, sql: str, table: str) -> str:
    out, n = pattern.subn(repl, sql, count=1)
    if n != 1:
        raise RuntimeError(f"0017: unexpected CREATE TABLE text for {table}: {sql[:200]}")
    return out


def _autoincrement(sql: str, table: str) -> str:
    sql = _one(_PLAIN_PK, "", sql, table)
    return _one(_PLAIN_KEY, r"id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,\1", sql, table)


def _plain(sql: str, table: str) -> str:
    sql = _one(_AUTO_KEY, r"id INTEGER NOT NULL,\1", sql, table)
    # the key goes back where SQLAlchemy writes it: before the first table constraint
    at = re.search(r",\s*(CONSTRAINT |FOREIGN KEY|UNIQUE |CHECK )", sql)
    close = sql.rstrip().rfind(")")
    cut = at.start() if at else close
    return f"{sql[:cut]}, \n\tPRIMARY KEY (id){sql[cut:]}"


def _rebuild(conn: Connection, table: str, change) -> None:  # type: ignore[no-untyped-def]
    """SQLite's procedure for a change ALTER TABLE cannot make: a new table from the changed
    text, the rows copied with their ids, the old one dropped, the new one renamed, then the
    indexes, triggers and statistics the old one had recreated from their stored text."""
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    keep = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger')"
        " AND sql IS NOT NULL ORDER BY type, name",
        (table,),
    ).all()
    has_stats = conn.exec_driver_sql(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
    ).first()
    stats = (
        conn.exec_driver_sql(
            "SELECT tbl, idx, stat FROM sqlite_stat1 WHERE tbl = ?", (table,)
        ).all()
        if has_stats
        else []
    )
    new = f"_new_{table}"
    conn.exec_driver_sql(_HEAD.sub(f"CREATE TABLE {new} (", change(sql, table), count=1))
    conn.exec_driver_sql(f"INSERT INTO {new} SELECT * FROM {table}")
    conn.exec_driver_sql(f"DROP TABLE {table}")
    conn.exec_driver_sql(f"ALTER TABLE {new} RENAME TO {table}")
    for (stmt,) in keep:
        conn.exec_driver_sql(stmt)
    for row in stats:
        conn.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", tuple(row)
        )


def _check_foreign_keys(conn: Connection) -> None:
    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
    if bad is not None:
        raise RuntimeError(f"0017: a foreign key no longer holds: {tuple(bad)}")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table, entity in TABLES.items():
        _rebuild(conn, table, _autoincrement)
        # above every id the table or its audit history ever held
        conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        conn.exec_driver_sql(
            "INSERT INTO sqlite_sequence (name, seq) SELECT ?, max("
            f"coalesce((SELECT max(id) FROM {table}), 0),"
            " coalesce((SELECT max(CAST(entity_id AS INTEGER)) FROM audit_record"
            " WHERE entity = ?), 0))",
            (table, entity),
        )
    _check_foreign_keys(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table in reversed(TABLES):
        _rebuild(conn, table, _plain)
        conn.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
    _check_foreign_keys(conn)
