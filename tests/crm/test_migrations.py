"""Migrations up and down on a fresh database of the kind under test."""

from __future__ import annotations

import os
import time
import uuid

import pytest
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


# SQLite's one-character search index is on an expression (0019), which SQLAlchemy cannot
# reflect from SQLite: it leaves it out with this warning (PostgreSQL's are skipped by name)
@pytest.mark.filterwarnings(
    "ignore:Skipped unsupported reflection of expression-based index ix_firm_search_tail"
)
@pytest.mark.filterwarnings(  # and the contacts' display order (0023)
    "ignore:Skipped unsupported reflection of expression-based index ix_contact_name_expr"
)
@pytest.mark.filterwarnings(  # and a department's projects by their last contact (0029)
    "ignore:Skipped unsupported reflection of expression-based index "
    "ix_project_department_idle_expr"
)
@pytest.mark.filterwarnings(  # and the late projects' order (0030)
    "ignore:Skipped unsupported reflection of expression-based index ix_project_late_order_expr"
)
def test_schema_matches_the_models(database):
    """Autogenerate finds nothing to do: the tables exist only through migrations, and fully."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from crm.db import get_engine

    with get_engine().connect() as conn:
        pg = conn.dialect.name == "postgresql"

        def include(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
            # PostgreSQL reflects the park layout's index (0020) with its DESC NULLS LAST column
            # as an expression, which the model (plain, as SQLite reflects it) cannot state for
            # both: tests/crm/test_layout.py checks that index on each
            if pg and type_ == "index" and name == "ix_project_park_output":
                return False
            # PostgreSQL's own: a firm's tier by its id from the index alone (0023); SQLite
            # reads it from the row by rowid
            if pg and type_ == "index" and name == "ix_firm_id_tier" and reflected:
                return False
            return _skip_fts(obj, name, type_, reflected, compare_to)

        ctx = MigrationContext.configure(
            conn, opts={"compare_type": False, "include_object": include}
        )
        diff = compare_metadata(ctx, metadata)
    assert diff == []


def _skip_fts(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and name and "_fts" in name:
        return False
    if type_ == "column" and name == "search_grams":  # PostgreSQL's generated column (0014)
        return False
    return not (type_ == "index" and name and name.endswith(("_trgm", "_grams", "_expr")))


def test_0013_keeps_an_alias_with_the_firm_that_had_it_first(tmp_path):
    """Aliases held by several firms (data from before the rule) are kept by the first firm;
    the others lose them, and one audit record lists what was removed."""
    import json

    url, pg = _fresh_url(tmp_path)
    try:
        migrate.upgrade(url, "0012_leadership_indexes")
        eng = create_engine(url)
        with eng.begin() as c:
            for fid, name in ((1, "惠普"), (2, "宏碁"), (3, "思科")):
                c.execute(
                    text(
                        "INSERT INTO firm (id, name_zh, name_norm, name_pinyin, name_initials, "
                        "search_text, is_leader, tier, source, created_at, updated_at, version) "
                        "VALUES (:i, :n, :n, '', '', ' ', false, 'other', 'manual', "
                        "'2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
                    ),
                    {"i": fid, "n": name},
                )
            for aid, fid, alias, norm in (
                (1, 2, "HP", "hp"),
                (2, 1, "HP", "hp"),
                (3, 3, "hp", "hp"),
                (4, 1, "惠普电脑", "惠普电脑"),
            ):
                c.execute(
                    text(
                        "INSERT INTO firm_alias (id, firm_id, alias, alias_norm) "
                        "VALUES (:i, :f, :a, :n)"
                    ),
                    {"i": aid, "f": fid, "a": alias, "n": norm},
                )
        migrate.upgrade(url)
        with eng.connect() as c:
            left = c.execute(text("SELECT firm_id, alias FROM firm_alias ORDER BY id")).all()
            audit = c.execute(text("SELECT entity, before FROM audit_record")).all()
        assert [tuple(r) for r in left] == [(2, "HP"), (1, "惠普电脑")]
        assert [a[0] for a in audit] == ["firm_alias"]
        assert json.loads(audit[0][1])["removed"] == [
            {"firm_id": 1, "alias": "HP"},
            {"firm_id": 3, "alias": "hp"},
        ]
        eng.dispose()
    finally:
        if pg:
            admin, name = pg
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_postgresql_tables_a_migration_rewrote_are_vacuumed(tmp_path):
    """0014 rewrites ``firm`` (a stored generated column) on PostgreSQL: after the upgrade its
    visibility map is set again (VACUUM), so index-only scans need not read the table."""
    url, pg = _fresh_url(tmp_path)
    if not pg:
        return  # SQLite: nothing to vacuum
    try:
        migrate.upgrade(url, "0013_alias_unique")
        eng = create_engine(url)
        with eng.begin() as c:
            c.execute(
                text(
                    "INSERT INTO firm (name_zh, name_norm, name_pinyin, name_initials, search_text,"
                    " is_leader, tier, source, created_at, updated_at, version)"
                    " SELECT '企业' || g, 'n' || g, 'qiye', 'qy', '企业' || g, false, 'other',"
                    " 'manual', now(), now(), 1 FROM generate_series(1, 500) g"
                )
            )
        migrate.upgrade(url)
        # that VACUUM ran on firm (its visibility map is only set when no older transaction
        # of a parallel test runs on the same server, so relallvisible cannot tell here)
        vacuumed = None
        for _ in range(50):  # the statistics of another backend may take a moment to show
            with eng.connect() as c:
                vacuumed = c.execute(
                    text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'firm'")
                ).scalar_one()
            if vacuumed is not None:
                break
            time.sleep(0.1)
        eng.dispose()
        assert vacuumed is not None
    finally:
        admin, name = pg
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0017_rebuilds_sqlite_tables_keeping_rows_indexes_triggers_and_ids(tmp_path):
    """0017 makes SQLite tables AUTOINCREMENT by rebuilding them: every row (and its id), index,
    trigger (the firm search's, the audit trail's append-only ones) and statistic stays; the
    schema equals a database migrated from empty; an id the audit trail names (a firm deleted
    before the upgrade) is not handed out again; down and up again keeps the rows."""
    import sqlite3

    from crm.backup import migrated_schema, sqlite_schema

    url, pg = _fresh_url(tmp_path)
    if pg:  # PostgreSQL: nothing to rebuild (sequences never go back)
        admin, name = pg
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        return
    migrate.upgrade(url, "0016_coverage_covering_index")
    eng = create_engine(url)
    firm = (
        "INSERT INTO firm (id, name_zh, name_norm, name_pinyin, name_initials, search_text,"
        " is_leader, tier, source, created_at, updated_at, version) VALUES (:i, :n, :n, '', '',"
        " :n, false, 'other', 'manual', '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
    )
    with eng.begin() as c:
        for fid, name in ((1, "惠普"), (2, "宏碁"), (3, "思科")):
            c.execute(text(firm), {"i": fid, "n": name})
        c.execute(
            text("INSERT INTO firm_alias (firm_id, alias, alias_norm) VALUES (1, 'HP', 'hp')")
        )
        # firm 4 was created and deleted before the upgrade: only the audit trail remembers it
        c.execute(
            text(
                "INSERT INTO audit_record (at, action, entity, entity_id) VALUES"
                " ('2026-01-01 00:00:00', 'create', 'firm', '4'),"
                " ('2026-01-02 00:00:00', 'delete', 'firm', '4')"
            )
        )
        c.execute(text("ANALYZE"))
    conn = sqlite3.connect(tmp_path / "mig.db")
    rows_before = conn.execute("SELECT * FROM firm ORDER BY id").fetchall()
    stats_before = conn.execute("SELECT * FROM sqlite_stat1 ORDER BY tbl, idx").fetchall()
    conn.close()

    migrate.upgrade(url)
    conn = sqlite3.connect(tmp_path / "mig.db")
    try:
        assert conn.execute("SELECT * FROM firm ORDER BY id").fetchall() == rows_before
        assert conn.execute("SELECT * FROM sqlite_stat1 ORDER BY tbl, idx").fetchall() == (
            stats_before
        )
        assert sqlite_schema(conn) == migrated_schema("head")
        for table in ("firm", "project", "activity", "followup", "contact", "department"):
            sql = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
            ).fetchone()[0]
            assert "AUTOINCREMENT" in sql, table
        # the firm search trigger still feeds the full-text index; the audit trail refuses edits
        conn.execute(firm.replace(":i", "NULL").replace(":n", "'戴尔电脑'"))
        new_id = conn.execute("SELECT id FROM firm WHERE name_zh = '戴尔电脑'").fetchone()[0]
        assert new_id == 5  # not 4: the deleted firm's id stays its own
        assert conn.execute(
            "SELECT rowid FROM firm_fts WHERE firm_fts MATCH '戴尔电'"
        ).fetchall() == [(5,)]
        try:
            conn.execute("UPDATE audit_record SET action = 'x'")
            raise AssertionError("the audit trail took an UPDATE")
        except sqlite3.IntegrityError:
            pass
        conn.commit()
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()

    migrate.downgrade(url, "0016_coverage_covering_index")
    migrate.upgrade(url)
    with eng.connect() as c:
        assert c.execute(text("SELECT count(*) FROM firm")).scalar_one() == 4
        assert c.execute(text("SELECT count(*) FROM firm_alias")).scalar_one() == 1
    eng.dispose()
