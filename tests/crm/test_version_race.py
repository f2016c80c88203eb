"""The loser of a version race (ATTACK8 P2-11): two writers read one version; the second's
guarded UPDATE waits for the first and then matches no row. It must be the 409 "reload" with
the row as it now is, nothing of it saved — on PostgreSQL it was a 500: the stale-version
answer read the row through the session the failed flush had left needing a rollback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from crm.db import begin_write, get_engine
from crm.errors import StaleVersion
from crm.followups.schemas import FollowupCreate, FollowupUpdate
from crm.followups.service import (
    cancel_followup,
    complete_followup,
    create_followup,
    update_followup,
)
from crm.models.accounts import User
from crm.models.followups import Followup
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_user
from tests.races import second_writer

LOSERS = {
    "update": lambda s, u, i: update_followup(s, u, i, FollowupUpdate(title="改", version=1)),
    "cancel": lambda s, u, i: cancel_followup(s, u, i, version=1),
    "complete": lambda s, u, i: complete_followup(s, u, i, version=1),
}


@pytest.mark.parametrize("loser", sorted(LOSERS))
def test_the_loser_of_a_version_race_is_told_to_reload(session, loser):
    d = make_department(session)
    admin = make_user(session, "admin", d)
    firm = make_firm(session, "版本竞态企业")
    fu = create_followup(
        session,
        admin,
        FollowupCreate(
            title="并发完成", assignee_id=admin.id, firm_id=firm.id, due_at=utcnow() + timedelta(2)
        ),
    )
    session.commit()
    ids = {"admin": admin.id, "fu": fu.id}

    winner = Session(get_engine())
    begin_write(winner)
    complete_followup(winner, winner.get(User, ids["admin"]), ids["fu"], version=1)
    winner.flush()  # written, not yet committed: the loser reads version 1 still

    t, outcome = second_writer(
        lambda s: LOSERS[loser](s, s.get(User, ids["admin"]), ids["fu"]) and "saved"
    )
    winner.commit()
    winner.close()
    t.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], StaleVersion), outcome
    assert outcome[0].status == 409
    # the row as the winner saved it, to reload from
    assert (outcome[0].current["status"], outcome[0].current["version"]) == ("done", 2)
    with Session(get_engine()) as s:
        row = s.get(Followup, ids["fu"])
        assert (row.status, row.version, row.title) == ("done", 2, "并发完成")
