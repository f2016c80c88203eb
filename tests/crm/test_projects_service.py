"""Projects: stage moves and their history, conflicts (撞单), visibility, delivery."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import cycle

import pytest

from crm.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from crm.projects.lists import ProjectFilters, board_columns, list_projects
from crm.projects.reads import get_project_for, stage_history
from crm.projects.schemas import CapitalArrivalCreate, ProjectCreate, ProjectUpdate, StageMove
from crm.projects.service import (
    add_capital_arrival,
    conflict_info,
    create_project,
    delete_project,
    move_stage,
    update_project,
)
from crm.reports.common import ReportFilters
from crm.reports.pipeline import pipeline_report
from crm.types import utcnow
from crm.vocabulary import STAGE_RANK
from tests.factories import make_department, make_firm, make_project, make_user


@pytest.fixture
def world(session):
    a, b = make_department(session), make_department(session)
    return {
        "a": a,
        "b": b,
        "oa": make_user(session, "officer", a),
        "ob": make_user(session, "officer", b),
        "mgr": make_user(session, "manager", b),
        "firm": make_firm(session, "惠普", global500_rank=26),
    }


def test_create_records_history_and_exact_amounts(session, world):
    p = create_project(
        session,
        world["oa"],
        ProjectCreate(
            firm_id=world["firm"].id,
            cluster="NB",
            park="XY",
            chain_link="whole",
            planned_investment=Decimal("12.3456"),
            expected_output=Decimal("0.1"),
        ),
    )
    session.commit()
    session.expire_all()
    again = get_project_for(session, world["oa"], p.id)
    assert again.planned_investment == Decimal("12.3456")
    assert again.expected_output == Decimal("0.1000")
    assert again.department_id == world["a"].id
    assert [h.to_stage for h in stage_history(session, world["oa"], p.id)] == ["lead"]


def test_stage_moves_and_rules(session, world):
    oa = world["oa"]
    p = create_project(session, oa, ProjectCreate(firm_id=world["firm"].id, cluster="NB"))
    move_stage(session, oa, p.id, StageMove(stage="negotiating"))
    with pytest.raises(ValidationFailed):
        move_stage(session, oa, p.id, StageMove(stage="lost"))
    move_stage(session, oa, p.id, StageMove(stage="lost", reason="选择了成都"))
    assert p.lost_reason == "选择了成都"
    with pytest.raises(Conflict):
        move_stage(session, oa, p.id, StageMove(stage="lost", reason="again"))
    move_stage(session, oa, p.id, StageMove(stage="contacted"))
    assert p.lost_reason is None
    move_stage(session, oa, p.id, StageMove(stage="signed"))
    assert p.actual_sign_date is not None
    hist = [(h.from_stage, h.to_stage) for h in stage_history(session, oa, p.id)]
    assert hist == [
        (None, "lead"),
        ("lead", "negotiating"),
        ("negotiating", "lost"),
        ("lost", "contacted"),
        ("contacted", "signed"),
    ]


def test_the_furthest_stage_reached_is_kept_through_every_move(session, world):
    """``furthest_stage`` is the highest active stage of the history at every step (a move back
    or to lost keeps it), and the pipeline's conversion counts the project there."""
    oa = world["oa"]
    p = create_project(session, oa, ProjectCreate(firm_id=world["firm"].id, cluster="NB"))
    assert p.furthest_stage == "lead"
    moves = [
        ("negotiating", None, "negotiating"),
        ("contacted", "回到初洽", "negotiating"),
        ("lost", "选择了成都", "negotiating"),
        ("signed", None, "signed"),
        ("lead", "重新开始", "signed"),
    ]
    for stage, reason, expected in moves:
        move_stage(session, oa, p.id, StageMove(stage=stage, reason=reason, confirm_backward=True))
        history = [h.to_stage for h in stage_history(session, oa, p.id)]
        highest = max((s for s in history if s in STAGE_RANK), key=STAGE_RANK.__getitem__)
        assert p.furthest_stage == expected == highest
    session.commit()
    reached = pipeline_report(session, world["mgr"], ReportFilters()).reached
    assert reached["signed"] == 1 and reached["landed"] == 0


def test_stale_version_on_move_and_update(session, world):
    oa = world["oa"]
    p = create_project(session, oa, ProjectCreate(firm_id=world["firm"].id, cluster="NB"))
    move_stage(session, oa, p.id, StageMove(stage="contacted", version=1))
    with pytest.raises(StaleVersion):
        move_stage(session, oa, p.id, StageMove(stage="negotiating", version=1))
    with pytest.raises(StaleVersion):
        update_project(session, oa, p.id, ProjectUpdate(version=1, title="x"))
    assert p.stage == "contacted"


def test_dates_out_of_order_are_refused(session, world):
    from datetime import date

    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        ProjectCreate(
            firm_id=1,
            cluster="NB",
            expected_sign_date=date(2026, 5, 1),
            expected_land_date=date(2026, 1, 1),
        )
    oa = world["oa"]
    p = create_project(
        session,
        oa,
        ProjectCreate(firm_id=world["firm"].id, cluster="NB", expected_land_date=date(2026, 1, 1)),
    )
    with pytest.raises(ValidationFailed):
        update_project(
            session, oa, p.id, ProjectUpdate(version=1, expected_sign_date=date(2026, 6, 1))
        )


def test_conflict_first_report_keeps_priority(session, world):
    first = create_project(
        session, world["oa"], ProjectCreate(firm_id=world["firm"].id, cluster="NB")
    )
    second = create_project(
        session, world["ob"], ProjectCreate(firm_id=world["firm"].id, cluster="NB")
    )
    assert second.conflict_with_id == first.id and first.conflict_with_id == second.id
    info = conflict_info(session, world["ob"], second)
    assert info["first_department"] == world["a"].name and not info["this_has_priority"]
    assert conflict_info(session, world["oa"], first)["this_has_priority"]
    # same department, or another cluster: no conflict
    third = create_project(
        session, world["oa"], ProjectCreate(firm_id=world["firm"].id, cluster="COMM")
    )
    assert third.conflict_with_id is None


def test_the_later_side_of_a_conflict_can_be_deleted(session, world):
    """ATTACK8 P2-4: the project opened by mistake as the later side of a 撞单 (its managers
    told by a notice that names it, its owner by an "assigned" one) is deleted — not a 500 on
    the notices' foreign key; the notices stay, pointing at it no more, and the first project
    is out of conflict."""
    from sqlalchemy import select

    from crm.models.notices import Notice
    from crm.models.projects import Project

    first = create_project(
        session, world["oa"], ProjectCreate(firm_id=world["firm"].id, cluster="NB")
    )
    later = create_project(
        session,
        world["mgr"],
        ProjectCreate(firm_id=world["firm"].id, cluster="NB", owner_id=world["ob"].id),
    )
    ob2 = make_user(session, "officer", world["b"])
    update_project(
        session, world["mgr"], later.id, ProjectUpdate(version=later.version, owner_id=ob2.id)
    )
    session.commit()
    notices = list(session.scalars(select(Notice).where(Notice.project_id == later.id)))
    assert {n.kind for n in notices} == {"conflict", "assigned"}
    delete_project(session, world["mgr"], later.id, later.version)
    session.commit()
    session.expire_all()
    assert session.get(Project, later.id) is None
    assert session.get(Project, first.id).conflict_with_id is None
    for n in notices:
        assert n.project_id is None and n.link != f"/projects/{later.id}" and n.text


def test_lost_project_does_not_conflict(session, world):
    first = create_project(
        session, world["oa"], ProjectCreate(firm_id=world["firm"].id, cluster="IC")
    )
    move_stage(session, world["oa"], first.id, StageMove(stage="lost", reason="放弃"))
    second = create_project(
        session, world["ob"], ProjectCreate(firm_id=world["firm"].id, cluster="IC")
    )
    assert second.conflict_with_id is None


def test_confidential_project_does_not_exist_for_other_departments(session, world):
    with pytest.raises(ValidationFailed):
        create_project(
            session,
            world["oa"],
            ProjectCreate(firm_id=world["firm"].id, cluster="NB", is_confidential=True),
        )
    p = create_project(
        session,
        world["oa"],
        ProjectCreate(
            firm_id=world["firm"].id, cluster="NB", is_confidential=True, code_name="凤凰"
        ),
    )
    with pytest.raises(NotFound):
        get_project_for(session, world["ob"], p.id)
    assert get_project_for(session, world["mgr"], p.id).id == p.id
    rows, total = list_projects(session, world["ob"], ProjectFilters())
    assert p.id not in [r.id for r in rows] and total == 0
    rows, _ = list_projects(session, world["mgr"], ProjectFilters())
    assert p.id in [r.id for r in rows]


def test_officer_cannot_open_for_another_department(session, world):
    with pytest.raises(ValidationFailed):
        create_project(
            session,
            world["oa"],
            ProjectCreate(firm_id=world["firm"].id, cluster="NB", department_id=world["b"].id),
        )


def test_capital_arrives_only_after_signing(session, world):
    oa = world["oa"]
    p = create_project(session, oa, ProjectCreate(firm_id=world["firm"].id, cluster="NB"))
    data = CapitalArrivalCreate(amount=Decimal("2.5"), arrived_on="2026-03-01")
    with pytest.raises(Conflict):
        add_capital_arrival(session, oa, p.id, data)
    move_stage(session, oa, p.id, StageMove(stage="signed"))
    row = add_capital_arrival(session, oa, p.id, data)
    assert row.amount == Decimal("2.5")


def test_the_board_reads_each_column_as_the_list_does(session, world):
    """board_columns (two statements for the whole board) gives, per stage, the same page, in
    the same order, and the same capped count as list_projects for that stage alone: hidden
    projects left out, ties on updated_at broken by id, offsets and the cap honoured."""
    stages = ["lead", "contacted", "negotiating", "signed", "landed", "operating", "lost"]
    now = utcnow()
    owners = cycle([world["oa"], world["ob"]])
    for i in range(40):
        stage = stages[(i * 5) % 6]  # no project in "lost": an empty column
        p = make_project(
            session, world["firm"], "NB", stage, owner=next(owners), is_confidential=i % 3 == 0
        )
        if i % 3 == 0:
            p.code_name = f"代号{i}"
        p.updated_at = now - timedelta(minutes=i // 4)  # four projects share each time
    session.commit()
    for actor in (world["oa"], world["ob"], world["mgr"]):
        for offset, limit, cap in ((0, 3, 999), (3, 3, 999), (0, 12, 4), (6, 2, 5)):
            f = ProjectFilters()
            board = board_columns(session, actor, f, stages, limit, offset=offset, count_cap=cap)
            assert [s for s, _, _ in board] == stages
            for stage, rows, total in board:
                want, want_total = list_projects(
                    session,
                    actor,
                    ProjectFilters(stage=stage),
                    limit=limit,
                    offset=offset,
                    count_cap=cap,
                )
                assert [p.id for p in rows] == [p.id for p in want], (actor.role, stage, offset)
                assert total == want_total
    oa_lead = board_columns(session, world["oa"], ProjectFilters(), ["lead"], 100)[0][1]
    assert oa_lead and all(
        not p.is_confidential or p.department_id == world["oa"].department_id for p in oa_lead
    )
    assert board_columns(session, world["oa"], ProjectFilters(), [], 12) == []


def test_move_stage_stale_or_refused_saves_nothing_and_a_move_is_audited(session, world):
    """crm.changes.apply_change (#15): a stale move is a 409 and a refused one (no lost reason,
    a backward move unconfirmed, the stage it is in) a 422/409 — the whole row, its history and
    the audit as they were; a move bumps the version once, keeps its history row and writes one
    ``move_stage`` audit row of the columns it changed."""
    import json

    from sqlmodel import select

    from crm.models.audit import AuditRecord
    from crm.models.projects import Project, StageChange

    oa = world["oa"]
    p = create_project(session, oa, ProjectCreate(firm_id=world["firm"].id, cluster="NB"))
    move_stage(session, oa, p.id, StageMove(stage="signed", version=p.version))
    session.commit()

    def state():  # type: ignore[no-untyped-def]
        session.expire_all()
        return (
            session.get(Project, p.id).model_dump(),
            stage_history(session, oa, p.id),
            session.scalars(select(AuditRecord.id).order_by(AuditRecord.id)).all(),
        )

    before = state()
    v = before[0]["version"]
    refused: list[tuple[type[Exception], StageMove]] = [
        (StaleVersion, StageMove(stage="landed", version=v - 1)),
        (ValidationFailed, StageMove(stage="lost", version=v)),
        (ValidationFailed, StageMove(stage="lead", reason="退", version=v)),
        (Conflict, StageMove(stage="signed", version=v)),
    ]
    for error, move in refused:
        with pytest.raises(error):
            move_stage(session, oa, p.id, move)
        session.rollback()
        assert state() == before
    move_stage(session, oa, p.id, StageMove(stage="lost", reason="选择了成都", version=v))
    session.commit()
    row, _history, _ = state()
    assert (row["stage"], row["lost_reason"], row["version"]) == ("lost", "选择了成都", v + 1)
    assert row["updated_at"] == row["stage_changed_at"]
    last = session.scalars(select(StageChange).order_by(StageChange.id.desc())).first()
    assert (last.from_stage, last.to_stage, last.changed_at) == (
        "signed",
        "lost",
        row["stage_changed_at"],
    )
    audit = session.scalars(
        select(AuditRecord).where(AuditRecord.action == "move_stage").order_by(AuditRecord.id)
    ).all()[-1]
    assert (audit.entity, audit.entity_id, audit.actor_id) == ("project", str(p.id), oa.id)
    b, a = json.loads(audit.before), json.loads(audit.after)
    assert set(b) == set(a) == {"stage", "lost_reason", "stage_changed_at", "updated_at", "version"}
    assert (b["stage"], a["stage"], b["version"], a["version"]) == ("signed", "lost", v, v + 1)
