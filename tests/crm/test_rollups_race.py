"""A contact logged on a project while another of its contacts is deleted (ATTACK8 P2-6): on
PostgreSQL the deletion recomputed the project's last contact from the contacts it could see —
not the one being logged — and wrote it after the logger had committed, leaving
``last_activity_at`` empty (the project then counted as never contacted: stale alerts, manager
home). Both paths lock the project rows before reading (crm.activities.rollups.locked_fresh)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session

from crm.activities.schemas import ActivityCreate
from crm.activities.service import delete_activity, log_activity
from crm.clock import as_utc
from crm.db import begin_write, get_engine
from crm.models.accounts import User
from crm.models.projects import Project
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user
from tests.races import second_writer


def test_a_contact_logged_while_another_is_deleted_stays_the_last_contact(session):
    d = make_department(session)
    officer = make_user(session, "officer", d)
    firm = make_firm(session, "竞态接触企业")
    p = make_project(session, firm, "NB", owner=officer)
    session.commit()
    old = log_activity(
        session,
        officer,
        ActivityCreate(
            kind="call",
            occurred_at=utcnow() - timedelta(days=3),
            summary="将被删除的接触",
            firm_ids=[firm.id],
            project_ids=[p.id],
        ),
    )
    session.commit()
    ids = {"officer": officer.id, "project": p.id, "firm": firm.id, "old": old.activity.id}

    logging = Session(get_engine())
    begin_write(logging)
    new_when = utcnow() - timedelta(hours=1)
    log_activity(
        logging,
        logging.get(User, ids["officer"]),
        ActivityCreate(
            kind="visit",
            occurred_at=new_when,
            summary="同时记录的接触",
            firm_ids=[ids["firm"]],
            project_ids=[ids["project"]],
        ),
    )
    logging.flush()  # written, not yet committed

    t, outcome = second_writer(
        lambda s: delete_activity(s, s.get(User, ids["officer"]), ids["old"], version=1)
    )  # it waits for the logger's lock (PostgreSQL row, SQLite database)
    logging.commit()
    logging.close()
    t.join(30)
    errors = [o for o in outcome if isinstance(o, BaseException)]
    assert not errors, errors
    with Session(get_engine()) as s:
        last = s.get(Project, ids["project"]).last_activity_at
        assert last is not None and abs(as_utc(last) - new_when) < timedelta(seconds=1)
