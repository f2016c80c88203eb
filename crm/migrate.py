"""Run Alembic programmatically (the CLI, the tests and the benchmark use this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from crm.config import ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "crm" / "migrations"))
    cfg.attributes["configure_logger"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


def _heads(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def vacuum_analyze(url: str) -> None:
    """PostgreSQL: ``VACUUM (ANALYZE)`` the database (outside a transaction). A migration that
    rewrites a table (0014 adds a stored generated column to ``firm``) leaves its visibility
    map empty, and autovacuum does not visit a table nobody writes to: every index-only scan
    then reads the table row by row (the firm list's capped count read 10,001 heap rows)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    target = url or get_settings().database_url
    if make_url(target).get_backend_name() != "postgresql":
        command.upgrade(alembic_config(url), revision)
        return
    before = _heads(target)
    command.upgrade(alembic_config(url), revision)
    if _heads(target) != before:  # something was applied: fresh visibility and statistics
        vacuum_analyze(target)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
