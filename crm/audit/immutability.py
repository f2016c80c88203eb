"""The audit trail is append-only in the database itself: triggers refuse UPDATE and DELETE (and
TRUNCATE on PostgreSQL) on ``audit_record``, whatever code or SQL console issues them.

The DDL lives here so the migration that installs it and the test-suite cleanup (which must
empty the table between tests) share one definition:

- PostgreSQL: the trigger lets a DELETE through only inside a transaction that ran
  ``SET LOCAL crm.audit_purge = 'on'`` — which only the test cleanup does. No DDL, so the cleanup
  takes no exclusive lock (an idle test connection cannot make it hang).
- SQLite (one writer at a time anyway): the cleanup drops the triggers, deletes and recreates them
  in one transaction; DDL is transactional, so no other connection sees the table unguarded.

Neither stops someone with DDL rights on the database; see ARCHITECTURE.md for how production
keeps those away from the app's database role.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

MESSAGE = "audit_record is append-only"

SQLITE_CREATE = [
    f"""CREATE TRIGGER audit_record_no_update BEFORE UPDATE ON audit_record
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER audit_record_no_delete BEFORE DELETE ON audit_record
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS audit_record_no_update",
    "DROP TRIGGER IF EXISTS audit_record_no_delete",
]

PG_CREATE = [
    f"""CREATE OR REPLACE FUNCTION audit_record_refuse() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP IN ('DELETE', 'TRUNCATE')
             AND current_setting('crm.audit_purge', true) = 'on' THEN
            RETURN OLD;
          END IF;
          RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
        END $$""",
    """CREATE TRIGGER audit_record_no_change BEFORE UPDATE OR DELETE ON audit_record
        FOR EACH ROW EXECUTE FUNCTION audit_record_refuse()""",
    """CREATE TRIGGER audit_record_no_truncate BEFORE TRUNCATE ON audit_record
        FOR EACH STATEMENT EXECUTE FUNCTION audit_record_refuse()""",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS audit_record_no_change ON audit_record",
    "DROP TRIGGER IF EXISTS audit_record_no_truncate ON audit_record",
]
PG_DROP_FUNCTION = "DROP FUNCTION IF EXISTS audit_record_refuse()"


def statements(dialect: str, create: bool) -> list[str]:
    if dialect == "postgresql":
        return PG_CREATE if create else PG_DROP
    return SQLITE_CREATE if create else SQLITE_DROP


def install(conn: Connection) -> None:
    for sql in statements(conn.dialect.name, create=True):
        conn.exec_driver_sql(sql)


def remove(conn: Connection) -> None:
    for sql in statements(conn.dialect.name, create=False):
        conn.exec_driver_sql(sql)


def purge_for_tests(conn: Connection) -> None:
    """Empty audit_record inside the caller's transaction (the test suite only)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL crm.audit_purge = 'on'")
        conn.exec_driver_sql("SET LOCAL lock_timeout = '20s'")  # fail loudly, never hang
        conn.exec_driver_sql("DELETE FROM audit_record")
        conn.exec_driver_sql("SET LOCAL crm.audit_purge = 'off'")
        return
    remove(conn)
    conn.exec_driver_sql("DELETE FROM audit_record")
    install(conn)
