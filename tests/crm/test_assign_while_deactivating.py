"""A follow-up assigned to an officer while an admin deactivates them (ATTACK8 P2-10): on
PostgreSQL both used to pass their checks (the deactivation saw no open follow-up, the
assignment saw an active user) and an open follow-up was left with an inactive assignee — who
is never reminded (SPEC §3). Both lock the user's row: the assignment waits for the
deactivation, then sees the user inactive and is refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlmodel import Session

from crm.accounts.users import update_user
from crm.db import begin_write, get_engine
from crm.followups.schemas import FollowupCreate
from crm.followups.service import create_followup
from crm.models.accounts import User
from crm.models.followups import Followup
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_user
from tests.races import second_writer


def test_an_assignment_racing_a_deactivation_is_refused(session):
    d = make_department(session)
    admin = make_user(session, "admin", d)
    manager = make_user(session, "manager", d)
    officer = make_user(session, "officer", d)
    firm = make_firm(session, "竞态分派企业")
    session.commit()
    ids = {"admin": admin.id, "manager": manager.id, "officer": officer.id, "firm": firm.id}

    deactivating = Session(get_engine())
    begin_write(deactivating)
    update_user(
        deactivating,
        deactivating.get(User, ids["admin"]),
        ids["officer"],
        version=1,
        is_active=False,
    )
    deactivating.flush()  # checked and written, not yet committed

    t, outcome = second_writer(
        lambda s: (
            create_followup(
                s,
                s.get(User, ids["manager"]),
                FollowupCreate(
                    title="竞态分派",
                    assignee_id=ids["officer"],
                    firm_id=ids["firm"],
                    due_at=utcnow() + timedelta(days=2),
                ),
            )
            and "saved"
        )
    )  # it waits for the deactivation's lock (PostgreSQL row, SQLite database)
    deactivating.commit()
    deactivating.close()
    t.join(30)
    assert len(outcome) == 1 and outcome[0] != "saved", outcome
    with Session(get_engine()) as s:
        assert not s.get(User, ids["officer"]).is_active
        open_ones = s.scalar(
            select(func.count())
            .select_from(Followup)
            .where(Followup.assignee_id == ids["officer"], Followup.status == "open")
        )
        assert open_ones == 0
