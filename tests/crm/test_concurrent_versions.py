"""Two writers who read the same version: only the first saves (ATTACK7 P1-5). On PostgreSQL
(READ COMMITTED) both passed the version check in Python and both saved — lost updates and a
stage history forked into moves "from lead"; every ORM update of a versioned row now says
``WHERE version = <read>`` (``crm.types.Versioned``), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from crm.db import get_engine
from crm.errors import StaleVersion
from crm.followups.schemas import FollowupUpdate
from crm.followups.service import update_followup
from crm.models.followups import Followup
from crm.models.projects import Project, StageChange
from crm.projects.schemas import ProjectUpdate, StageMove
from crm.projects.service import move_stage, update_project
from tests.factories import make_department, make_firm, make_followup, make_project, make_user
from tests.races import wait_until_blocked

REFUSED = (StaleVersion, StaleDataError)


@pytest.fixture
def world(session):
    d = make_department(session)
    officer = make_user(session, "officer", d)
    p = make_project(session, make_firm(session, "竞态企业"), "NB", owner=officer)
    fu = make_followup(session, officer, project_id=p.id)
    session.commit()
    return {"officer": officer.id, "project": p.id, "followup": fu.id}


def _two_readers(model, row_id):
    a, b = Session(get_engine()), Session(get_engine())
    assert a.get(model, row_id).version == b.get(model, row_id).version == 1
    return a, b


def _user(s, user_id):
    from crm.models.accounts import User

    return s.get(User, user_id)


def test_of_two_stage_moves_from_one_version_only_the_first_saves(world):
    a, b = _two_readers(Project, world["project"])
    try:
        move_stage(
            a, _user(a, world["officer"]), world["project"], StageMove(stage="contacted", version=1)
        )
        a.commit()
        with pytest.raises(REFUSED):
            move_stage(
                b,
                _user(b, world["officer"]),
                world["project"],
                StageMove(stage="signed", version=1),
            )
            b.commit()
        b.rollback()
    finally:
        a.close(), b.close()
    with Session(get_engine()) as s:
        p = s.get(Project, world["project"])
        assert (p.stage, p.version) == ("contacted", 2)
        moves = s.execute(
            select(StageChange.from_stage, StageChange.to_stage).where(
                StageChange.project_id == p.id, StageChange.from_stage.is_not(None)
            )
        ).all()
        assert moves == [("lead", "contacted")]  # no second move "from lead" to signed


def test_of_two_edits_from_one_version_only_the_first_saves(world):
    a, b = _two_readers(Project, world["project"])
    try:
        update_project(
            a, _user(a, world["officer"]), world["project"], ProjectUpdate(version=1, notes="甲")
        )
        a.commit()
        with pytest.raises(REFUSED) as err:
            update_project(
                b,
                _user(b, world["officer"]),
                world["project"],
                ProjectUpdate(version=1, notes="乙"),
            )
            b.commit()
        print("RAISED", repr(err.value))
        b.rollback()
    finally:
        a.close(), b.close()
    with Session(get_engine()) as s:
        p = s.get(Project, world["project"])
        assert (p.notes, p.version) == ("甲", 2)


def test_a_follow_up_edited_twice_from_one_version_keeps_the_first(world):
    a, b = _two_readers(Followup, world["followup"])
    try:
        update_followup(
            a, _user(a, world["officer"]), world["followup"], FollowupUpdate(version=1, title="甲")
        )
        a.commit()
        with pytest.raises(REFUSED):
            update_followup(
                b,
                _user(b, world["officer"]),
                world["followup"],
                FollowupUpdate(version=1, title="乙"),
            )
            b.commit()
        b.rollback()
    finally:
        a.close(), b.close()
    with Session(get_engine()) as s:
        f = s.get(Followup, world["followup"])
        assert (f.title, f.version) == ("甲", 2)


@pytest.mark.parametrize("change", ["stage", "edit"])
def test_a_writer_that_read_before_the_other_committed_does_not_save(world, change):
    """The race the probe ran over HTTP: A has saved (not yet committed) version 1 → 2; B reads
    version 1, passes the check and waits on A's row lock; A commits; B's UPDATE must match no
    row (it had no version condition: on PostgreSQL it saved over A)."""
    import threading

    engine = get_engine()
    a, b = Session(engine), Session(engine)
    pid, uid = world["project"], world["officer"]
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            if change == "stage":
                move_stage(b, _user(b, uid), pid, StageMove(stage="signed", version=1))
            else:
                update_project(b, _user(b, uid), pid, ProjectUpdate(version=1, notes="乙"))
            b.commit()
            outcome.append(None)
        except Exception as exc:  # the refusal under test
            b.rollback()
            outcome.append(exc)

    try:
        if change == "stage":
            move_stage(a, _user(a, uid), pid, StageMove(stage="contacted", version=1))
        else:
            update_project(a, _user(a, uid), pid, ProjectUpdate(version=1, notes="甲"))
        assert b.get(Project, pid).version == 1  # B read before A committed
        t = threading.Thread(target=second)
        t.start()
        wait_until_blocked(engine)
        a.commit()
        t.join(60)
    finally:
        a.close(), b.close()
    assert outcome and outcome[0] is not None, "the second writer saved over the first"
    with Session(engine) as s:
        p = s.get(Project, pid)
        assert p.version == 2
        assert (p.stage if change == "stage" else p.notes) == (
            "contacted" if change == "stage" else "甲"
        )
        assert (
            s.scalar(
                select(func.count()).where(
                    StageChange.project_id == pid, StageChange.to_stage == "signed"
                )
            )
            == 0
        )


def test_two_departments_opening_one_firms_project_at_once_is_a_conflict(world):
    """ATTACK8 P2-8: two departments open a project for the same firm and cluster at the same
    moment. Before, on PostgreSQL, neither saw the other's uncommitted row — no 撞单 at all;
    now the second waits on the firm's row lock until the first commits, then finds it."""
    import threading

    from crm.projects.schemas import ProjectCreate
    from crm.projects.service import create_project

    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writing requests (begin_write)")
    with Session(engine) as s:
        firm_id = s.get(Project, world["project"]).firm_id
        other = make_user(s, "officer", make_department(s)).id
        s.commit()
    a, b = Session(engine), Session(engine)
    outcome: list[BaseException | int] = []

    def second() -> None:
        try:
            p = create_project(b, _user(b, other), ProjectCreate(firm_id=firm_id, cluster="IC"))
            b.commit()
            outcome.append(p.id)
        except Exception as exc:
            b.rollback()
            outcome.append(exc)

    try:
        first = create_project(
            a, _user(a, world["officer"]), ProjectCreate(firm_id=firm_id, cluster="IC")
        ).id
        t = threading.Thread(target=second)
        t.start()
        wait_until_blocked(engine)
        a.commit()
        t.join(60)
    finally:
        a.close(), b.close()
    assert outcome and isinstance(outcome[0], int), outcome
    with Session(engine) as s:
        later = s.get(Project, outcome[0])
        assert later.conflict_with_id == first
        assert s.get(Project, first).conflict_with_id == later.id
