"""Migrations up and down on a fresh database of the kind under test."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from crm import migrate
from crm.models import metadata


def _fresh_url(tmp_path) -> tuple[str, object]:
    base = os.environ.get("CRM_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'mig.db'}", None
    url = make_url(base)
    name = f"mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    return url.set(database=name).render_as_string(hide_password=False), (admin, name)


def test_upgrade_head_then_downgrade_base_then_up_again(tmp_path):
    url, pg = _fresh_url(tmp_path)
    try:
        migrate.upgrade(url)
        eng = create_engine(url)
        tables = set(inspect(eng).get_table_names())
        assert {t.name for t in metadata.sorted_tables} <= tables
        migrate.downgrade(url, "base")
        left = set(inspect(eng).get_table_names()) - {"alembic_version"}
        assert not {t.name for t in metadata.sorted_tables} & left
        migrate.upgrade(url)
        assert {t.name for t in metadata.sorted_tables} <= set(inspect(eng).get_table_names())
        eng.dispose()
    finally:
        if pg:
            admin, name = pg
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_schema_matches_the_models(database):
    """Autogenerate finds nothing to do: the tables exist only through migrations, and fully."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crm.db import get_engine

    with get_engine().connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": _skip_fts}
        )
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def _skip_fts(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and name and "_fts" in name:
        return False
    return not (type_ == "index" and name and name.endswith(("_trgm", "_grams")))
