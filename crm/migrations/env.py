"""Alembic environment: the URL comes from the CRM settings unless the caller set one."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Engine

import crm.models  # noqa: F401  (registers every table)
from crm.config import get_settings
from crm.db import make_engine
from crm.models import metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # full-text tables (and their shadow tables), trigram, character-pair and expression
    # indexes are managed by hand in migrations
    if type_ == "table" and name and "_fts" in name:
        return False
    if type_ == "column" and name == "search_grams":  # PostgreSQL's generated columns (0014, 0022)
        return False
    return not (type_ == "index" and name and name.endswith(("_trgm", "_grams", "_expr")))


def _url() -> str:
    return config.attributes.get("url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _sqlite_transactions(engine: Engine) -> None:
    """SQLite migrations in real transactions, DDL included (the driver would otherwise commit
    each CREATE/DROP on its own: a failed step half-applied), taking the write lock at once, and
    with foreign keys off — SQLite's procedure for rebuilding a table (0017) drops a table other
    tables refer to; such a migration checks the keys itself (``PRAGMA foreign_key_check``)."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
