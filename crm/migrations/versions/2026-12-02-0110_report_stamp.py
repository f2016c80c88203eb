"""report_stamp: one row that changes with every transaction changing what the kept reports read

The coverage report is built from every major investor's live project (8,000 rows at city
scale) and was the one report over its budget (#19); it is now kept between requests
(``crm.reports.kept``) until this stamp changes. Triggers write the stamp, so every writer is
seen — services, imports, merges, the demo generator, an SQL console:

- ``project``: a row added or removed, or any column changed but the contact rollups
  (``first_contact_at``, ``last_activity_at``) and ``updated_at`` that logging a contact
  writes — the office's most frequent write leaves the kept reports alone;
- ``firm``: its names, tier (and the ranks and flag it comes from) and group (``parent_id``),
  or a firm removed; a new firm has no project yet;
- ``cluster``, ``chain_link``, ``park``, ``park_cluster``: any change.

SQLite (one writer): a row trigger sets the stamp to a random 64-bit number; a reader inside the
writing transaction sees its own new stamp. The update triggers name their columns (a column
added to ``project`` later must be added to them: tests/crm/test_report_kept.py says so).

PostgreSQL: the stamp is set once per transaction, at its commit, to the transaction's id (a
deferred constraint trigger: the row's lock is the last one the transaction takes, so it cannot
close a cycle of waits); until then a statement trigger marks the transaction
(``crm.report_dirty``) so that its own reads are never served a kept report. An update counts
when the row differs but in the columns left out, compared as whole rows (``to_jsonb``): no
column is named, so none is held against a later ALTER, and a column added later is watched.

Revision ID: 0025_report_stamp
Revises: 0024_form_submission
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_report_stamp"
down_revision: str | None = "0024_form_submission"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite: the columns whose change a kept report may show (None: every change of the table)
PROJECT = [
    "id",
    "title",
    "firm_id",
    "cluster_id",
    "park_id",
    "chain_link_id",
    "stage",
    "lost_reason",
    "planned_investment",
    "expected_output",
    "expected_jobs",
    "actual_jobs",
    "expected_sign_date",
    "actual_sign_date",
    "expected_land_date",
    "actual_land_date",
    "expected_operate_date",
    "actual_operate_date",
    "owner_id",
    "department_id",
    "is_confidential",
    "code_name",
    "conflict_with_id",
    "notes",
    "created_at",
    "stage_changed_at",
    "version",
    "furthest_stage",
]
FIRM = [
    "id",
    "name_zh",
    "name_en",
    "tier",
    "global500_rank",
    "china500_rank",
    "is_leader",
    "parent_id",
]
WATCHED: dict[str, list[str] | None] = {
    "project": PROJECT,
    "firm": FIRM,
    "cluster": None,
    "chain_link": None,
    "park": None,
    "park_cluster": None,
}
NO_INSERT = {"firm"}  # a new firm has no project yet


def _events(table: str) -> list[tuple[str, str]]:
    """(suffix, event clause) of each trigger on ``table``."""
    cols = WATCHED[table]
    update = f"UPDATE OF {', '.join(cols)}" if cols else "UPDATE"
    out = [("upd", update), ("del", "DELETE")]
    if table not in NO_INSERT:
        out.insert(0, ("ins", "INSERT"))
    return out


PG_FUNCTIONS = [
    """CREATE OR REPLACE FUNCTION report_stamp_dirty() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM set_config('crm.report_dirty', 'on', true);
          RETURN NULL;
        END $$""",
    """CREATE OR REPLACE FUNCTION report_stamp_bump() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF current_setting('crm.report_stamped', true) = 'on' THEN
            RETURN NULL;
          END IF;
          PERFORM set_config('crm.report_stamped', 'on', true);
          INSERT INTO report_stamp (id, stamp) VALUES (1, txid_current())
            ON CONFLICT (id) DO UPDATE SET stamp = EXCLUDED.stamp;
          RETURN NULL;
        END $$""",
]


# PostgreSQL: what an update may change without the stamp (whole rows compared but these)
PG_UNWATCHED: dict[str, tuple[str, ...]] = {
    "project": ("first_contact_at", "last_activity_at", "updated_at"),
    "firm": ("updated_at",),
}


def _pg_changed(table: str) -> str:
    """The WHEN of a PostgreSQL update trigger: the row changed but in the columns left out."""
    left_out = "".join(f" - '{c}'" for c in PG_UNWATCHED.get(table, ()))
    return f"(to_jsonb(OLD.*){left_out}) IS DISTINCT FROM (to_jsonb(NEW.*){left_out})"


def _pg_triggers(table: str) -> list[str]:
    """The dirty mark, the stamp at commit (rows added or removed; rows changed), a TRUNCATE."""
    added_removed = "DELETE" if table in NO_INSERT else "INSERT OR DELETE"
    deferred = "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW"
    return [
        f"CREATE TRIGGER report_dirty_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION report_stamp_dirty()",
        f"CREATE CONSTRAINT TRIGGER report_stamp_{table} AFTER {added_removed} ON {table} "
        f"{deferred} EXECUTE FUNCTION report_stamp_bump()",
        f"CREATE CONSTRAINT TRIGGER report_stamp_{table}_upd AFTER UPDATE ON {table} "
        f"{deferred} WHEN ({_pg_changed(table)}) EXECUTE FUNCTION report_stamp_bump()",
        f"CREATE TRIGGER report_stamp_{table}_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION report_stamp_bump()",
    ]


def upgrade() -> None:
    op.create_table(
        "report_stamp",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
    )
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for sql in PG_FUNCTIONS:
            conn.exec_driver_sql(sql)
        conn.exec_driver_sql("INSERT INTO report_stamp (id, stamp) VALUES (1, txid_current())")
        for table in WATCHED:
            for sql in _pg_triggers(table):
                conn.exec_driver_sql(sql)
        return
    conn.exec_driver_sql("INSERT INTO report_stamp (id, stamp) VALUES (1, random())")
    for table in WATCHED:
        for suffix, event in _events(table):
            conn.exec_driver_sql(
                f"CREATE TRIGGER report_stamp_{table}_{suffix} AFTER {event} ON {table} "
                "BEGIN INSERT OR REPLACE INTO report_stamp (id, stamp) VALUES (1, random()); END"
            )


def downgrade() -> None:
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    for table in WATCHED:
        if pg:
            names = (f"report_dirty_{table}", f"report_stamp_{table}")
            for name in (*names, f"report_stamp_{table}_upd", f"report_stamp_{table}_truncate"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        else:
            for suffix, _ in _events(table):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS report_stamp_{table}_{suffix}")
    if pg:
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS report_stamp_dirty()")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS report_stamp_bump()")
    op.drop_table("report_stamp")
