"""Restoring a backup: refused while the app or the scheduler uses the database
(``crm.dbuse``) and for a file ``check.verify`` refuses; restored into a new file (SQLite) or a
new database (PostgreSQL), checked there (for PostgreSQL: its schema against its migration's
and its sequences, after the dump is restored), brought up to the head migration, then swapped
in; the replaced one is kept (``<db>.replaced-<stamp>`` / ``<db>_replaced_<stamp>``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from crm.backup.check import verify
from crm.backup.postgres import check_sequences, migrated_pg_schema, pg_schema
from crm.backup.revisions import crm_revision, head_revision
from crm.backup.schema import check_schema
from crm.backup.sqlite import check_sqlite_file
from crm.backup.tools import now_stamp, pg_args, pg_tool, run_tool
from crm.dbuse import exclusively
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.migrate import upgrade


def restore(url: str, source: Path) -> str:
    """Replace the database at ``url`` with the backup ``source``; returns where the replaced
    database was kept. Refuses while the database is in use."""
    checked = verify(url, source)
    with exclusively(url) as lock_conn:
        if checked.kind == "sqlite":
            return _restore_sqlite(url, source)
        return _restore_pg(url, source, lock_conn)


def _restore_sqlite(url: str, source: Path) -> str:
    db = Path(make_url(url).database or "")
    stamp = now_stamp()
    new = db.with_name(f"{db.name}.restoring-{stamp}")
    kept = db.with_name(f"{db.name}.replaced-{stamp}")
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(str(new))
        try:
            src.backup(dst)
            mode = "wal" if db.exists() and _journal_mode(db) == "wal" else "delete"
            dst.execute(f"PRAGMA journal_mode={mode}")
        finally:
            dst.close()
            src.close()
        rev = check_sqlite_file(new)
        if rev != head_revision():  # a backup from before the last upgrade: brought up to date
            upgrade(f"sqlite:///{new}")
        if db.exists():
            # fold the WAL into the file, so the copy kept is whole on its own
            conn = sqlite3.connect(str(db))
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            try:
                os.link(db, kept)
            except OSError:
                shutil.copy2(db, kept)
        os.replace(new, db)  # the swap: atomic; a reader sees the old file or the new one
        for suffix in ("-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
    except sqlite3.Error as exc:
        raise ValidationFailed(
            _l("恢复失败，数据库未改动：%(error)s", error=str(exc)[:300])
        ) from exc
    finally:
        for p in (
            new,
            Path(str(new) + "-wal"),
            Path(str(new) + "-shm"),
            Path(str(new) + "-journal"),
        ):
            p.unlink(missing_ok=True)
    return str(kept) if kept.exists() else ""


def _journal_mode(db: Path) -> str:
    conn = sqlite3.connect(str(db))
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    finally:
        conn.close()


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """While a restore runs, SIGTERM (a service stop, ``kill``) raises SystemExit instead of
    ending the process at once, so the half-restored copy is dropped on the way out (ATTACK9
    P3-20). Only the main thread may set a handler; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _restore_pg(url: str, source: Path, lock_conn: object) -> str:
    import psycopg
    from psycopg import sql

    u = make_url(url)
    name = u.database or "postgres"
    stamp = now_stamp()
    new = f"{name}_restoring_{stamp}"[:63]
    kept = f"{name}_replaced_{stamp}"[:63]
    admin_url = u.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin_url, autocommit=True) as admin, _terminate_raises():
        # a restore killed before (SIGKILL, a lost machine) left its half-restored copy: this
        # one holds the restore lock, so no other is running — drop it (ATTACK9 P3-20)
        prefix = f"{name}_restoring_"
        for (left,) in admin.execute(
            "select datname from pg_database where left(datname, %s) = %s",
            (len(prefix), prefix),
        ).fetchall():
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(left))
            )
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(new)))
        try:
            args, env = pg_args(url, database=new)
            run_tool(
                [
                    pg_tool("pg_restore"),
                    "--no-owner",
                    "--exit-on-error",
                    "--single-transaction",
                    *args,
                    str(source),
                ],
                env,
                "pg_restore",
            )
            new_url = u.set(drivername="postgresql", database=new).render_as_string(
                hide_password=False
            )
            with psycopg.connect(new_url) as c:
                tables = {
                    r[0]
                    for r in c.execute(
                        "select table_name from information_schema.tables "
                        "where table_schema = 'public'"
                    )
                }
                rev = crm_revision(tables, c.execute)
                have = pg_schema(c)
                check_schema(rev, have, migrated_pg_schema(admin_url, rev))
                check_sequences(c)
            if rev != head_revision():  # a backup from before the last upgrade: brought up to date
                upgrade(u.set(database=new).render_as_string(hide_password=False))
            # the swap: our own lock connection goes first (a database with sessions cannot
            # be renamed), then the rename fails — harmlessly — if anything else connected
            with contextlib.suppress(Exception):
                lock_conn.close()  # type: ignore[attr-defined]
            try:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                        sql.Identifier(name), sql.Identifier(kept)
                    )
                )
            except psycopg.Error as exc:
                raise ValidationFailed(
                    _l("数据库正在被使用，未恢复：%(error)s", error=str(exc).strip()[:200])
                ) from exc
            admin.execute(
                sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(new), sql.Identifier(name)
                )
            )
        except BaseException:
            with contextlib.suppress(Exception):
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(new))
                )
            raise
    return kept
