"""Demo data: a deterministic, realistic investment-promotion workload (SPEC §9 "city" scale).

Rows go in with SQLAlchemy Core ``insert()`` in batches (the integer-only link tables, most of
the rows, as plain tuples through the driver's executemany); ids are assigned here
(max(id)+1 on), so nothing needs RETURNING. The policy pack (clusters, chain links, parks) must
be loaded first; firms already present (the pack's named firms) get projects and contacts too.
Times are generated as "days relative to the anchor day" (negative = past) and mapped into
office hours in Asia/Shanghai; the wall clock is never read except to default the anchor.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col

from crm.accounts.passwords import hash_password
from crm.db import table
from crm.demo import names as N
from crm.demo.activities import write_activities, write_followups
from crm.demo.firms import plan_firms, write_contacts, write_firms
from crm.demo.password import DEMO_PASSWORD
from crm.demo.people import write_departments, write_users
from crm.demo.projects import plan_projects, write_projects
from crm.demo.run import SCALES, SHANGHAI, Policy, Run, Scale
from crm.firms.search_index import optimize
from crm.models.accounts import User
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.summaries.fill import rebuild_on


def demo_login(password: str = DEMO_PASSWORD) -> list[tuple[str, str, str]]:
    """(username, role, password) of the demo users worth printing after a load."""
    return [
        ("admin", "admin", password),
        ("manager01", "manager", password),
        ("officer001", "officer", password),
    ]


# --- the entry point ----------------------------------------------------------------------------


def generate(
    target: Session | Engine | Connection,
    scale: str | Scale = "small",
    seed: int = 42,
    *,
    anchor: date | None = None,
    password: str = DEMO_PASSWORD,
    password_hash: str | None = None,
    batch_size: int = 10_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Fill a migrated database that holds the policy pack with demo data; counts per table.

    With an Engine the load runs in its own transaction and commits; with a Session or a
    Connection it runs in the caller's transaction, which the caller commits.
    """
    sc = SCALES[scale] if isinstance(scale, str) else scale
    day0 = anchor or datetime.now(SHANGHAI).date()
    if password_hash is None:
        password_hash = hash_password(password)  # once: argon2 is slow on purpose
    if isinstance(target, Engine):
        with target.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # rows are consistent by construction; skip the per-row FK lookups
                _foreign_keys(conn, False)
            try:
                with conn.begin():
                    return _generate(
                        Run(conn, random.Random(seed), sc, day0, batch_size, progress),
                        password_hash,
                    )
            finally:
                if sqlite:
                    _foreign_keys(conn, True)
    conn = target.connection() if isinstance(target, Session) else target
    return _generate(Run(conn, random.Random(seed), sc, day0, batch_size, progress), password_hash)


def _foreign_keys(conn: Connection, on: bool) -> None:
    """Outside any transaction (SQLite ignores the pragma inside one), on the DBAPI level."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cur.close()


def _generate(run: Run, password_hash: str) -> dict[str, int]:
    conn = run.conn
    if conn.execute(select(col(User.id)).where(col(User.username) == "officer001")).first():
        raise RuntimeError("demo data is already loaded (user officer001 exists)")
    pol = Policy.load(conn)
    depts = write_departments(run)
    for cid, code in pol.codes.items():
        want = N.LEAD_DEPARTMENT.get(code)
        if pol.lead.get(cid) is None and want and want in depts:
            conn.execute(
                update(table(Cluster))
                .where(col(Cluster.id) == cid)
                .values(lead_department_id=depts[want][0])
            )
    pol.park_dept = {
        pol.park_code_id[code]: did
        for did, code in depts.values()
        if code and code in pol.park_code_id
    }
    staff = write_users(run, [d for d, _ in depts.values()], password_hash)
    run.say(f"users: {run.counts.get('user_account', 0)}")
    firms = plan_firms(run, pol, staff)
    plans = plan_projects(run, pol, staff, firms)
    write_firms(run, firms)
    run.say(f"firms: {run.counts.get('firm', 0)}")
    write_contacts(run, firms)
    run.say(f"contacts: {run.counts.get('contact', 0)}")
    write_projects(run, staff, plans)
    run.say(f"projects: {run.counts.get('project', 0)}")
    sample = write_activities(run, pol, staff, firms, plans)
    run.say(f"activities: {run.counts.get('activity', 0)}")
    write_followups(run, staff, firms, plans, sample)
    run.flush()
    for p in plans:  # the 撞单 pair refers both ways: set once both rows exist
        if p.conflict is not None:
            conn.execute(
                update(table(Project))
                .where(col(Project.id) == p.id)
                .values(conflict_with_id=p.conflict)
            )
    rebuild_on(conn)  # the per-officer-per-week rollups, up to the open week
    optimize(conn)  # the firm search's index in one segment (SQLite), not the load's dozens
    if conn.dialect.name == "postgresql":  # ids were given explicitly: move the sequences on
        for name, (tbl, _rows, _sql) in run.buffers.items():
            if "id" in tbl.c and tbl.c.id.primary_key:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
    run.say(f"follow-ups: {run.counts.get('followup', 0)}")
    for t in (
        "department",
        "user_account",
        "firm",
        "firm_alias",
        "firm_cluster",
        "contact",
        "project",
        "stage_change",
        "capital_arrival",
        "activity",
        "activity_firm",
        "activity_project",
        "activity_contact",
        "activity_officer",
        "followup",
    ):
        run.counts.setdefault(t, 0)
    return dict(sorted(run.counts.items()))
