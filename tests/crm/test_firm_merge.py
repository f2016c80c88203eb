"""Merging two records of one firm: nothing lost, reports unchanged, 撞单 flagged, undo exact."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.firms.merge import differing_fields, holdings, merge_firms
from crm.firms.schemas import ContactCreate, ContactUpdate, FirmCreate
from crm.firms.service import create_contact, create_firm, update_contact
from crm.firms.unmerge import undo_merge
from crm.models import metadata
from crm.models.firms import Firm, FirmAlias
from crm.models.projects import CapitalArrival, Project
from crm.notices.service import list_notices
from crm.reports.common import ReportFilters
from crm.reports.delivery import delivery_report
from crm.reports.leaders import leaders_report
from crm.reports.pipeline import pipeline_report
from crm.reports.targets import targets_report
from tests.factories import make_department, make_followup, make_project, make_user

TABLES = [
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
    "followup",
]


def dump(session) -> dict[str, list[tuple]]:
    """Every row of the tables a merge touches, sorted: for exact comparisons."""
    out = {}
    for name in TABLES:
        t = metadata.tables[name]
        rows = session.execute(select(t)).all()
        out[name] = sorted((tuple(r) for r in rows), key=repr)
    return out


@pytest.fixture
def world(session):
    d1, d2 = make_department(session), make_department(session)
    admin = make_user(session, "admin", d1)
    o1, o2 = make_user(session, "officer", d1), make_user(session, "officer", d2)
    hp = create_firm(
        session,
        o1,
        FirmCreate(name_zh="惠普", name_en="HP", aliases=["惠普公司"], global500_rank=26),
    )
    dup = create_firm(
        session,
        o2,
        FirmCreate(
            name_zh="惠普（重庆）有限公司",
            name_en="Hewlett-Packard (Chongqing) Co., Ltd.",
            aliases=["重庆惠普"],
            country="美国",
            website="https://hp.example",
            clusters=["NB"],
        ),
        confirm=True,
    )
    create_contact(session, o1, hp.id, ContactCreate(name="张三"))
    c_dup = create_contact(session, o2, dup.id, ContactCreate(name="李四"))
    p_hp = make_project(session, hp, "NB", "negotiating", owner=o1, output="300")
    p_dup = make_project(session, dup, "NB", "signed", owner=o2, output="120", investment="50")
    p_dup2 = make_project(session, dup, "IC", "landed", owner=o2, output="80")
    session.add(
        CapitalArrival(project_id=p_dup.id, amount=Decimal("12.5"), arrived_on=date(2026, 10, 1))
    )
    make_followup(session, o2, firm_id=dup.id, project_id=p_dup.id)
    make_followup(session, o1, firm_id=hp.id)
    sub = create_firm(
        session, o2, FirmCreate(name_zh="惠普渝北工厂子厂", parent_id=dup.id), confirm=True
    )
    log_activity(
        session,
        o2,
        ActivityCreate(kind="visit", summary="拜访", firm_ids=[dup.id], project_ids=[p_dup.id]),
    )
    log_activity(session, o1, ActivityCreate(kind="call", summary="电话", firm_ids=[hp.id, dup.id]))
    session.flush()
    return {
        "admin": admin,
        "o1": o1,
        "o2": o2,
        "hp": hp,
        "dup": dup,
        "sub": sub,
        "c_dup": c_dup,
        "p_hp": p_hp,
        "p_dup": p_dup,
        "p_dup2": p_dup2,
    }


def reports(session, actor) -> dict[str, dict]:
    f = ReportFilters(detail=True)
    return {
        fn.__name__: fn(session, actor, f).model_dump(exclude={"generated_at"})
        for fn in (pipeline_report, targets_report, delivery_report)
    }


def test_merge_moves_everything_and_reports_stay(session, world):
    admin, hp, dup = world["admin"], world["hp"], world["dup"]
    before_hp, before_dup = holdings(session, hp.id), holdings(session, dup.id)
    before_reports = reports(session, admin)
    before_ladder_total = sum(
        lf.output
        for band in leaders_report(session, admin, ReportFilters()).bands
        for lf in band.firms
    )
    assert "country" not in differing_fields(hp, dup)  # blank on one side: no conflict
    assert "name_zh" in differing_fields(hp, dup)

    merge_firms(session, admin, hp.id, dup.id, {"website": "other"})
    session.expire_all()
    after = holdings(session, hp.id)
    for kind in (
        "contacts",
        "projects",
        "stage_changes",
        "capital_arrivals",
        "followups",
        "subsidiaries",
    ):
        assert getattr(after, kind) == getattr(before_hp, kind) + getattr(before_dup, kind), kind
    assert after.activities == 2  # the call linked both: one link left, not two
    assert session.get(Firm, dup.id) is None
    merged = session.get(Firm, hp.id)
    assert merged.website == "https://hp.example" and merged.country == "美国"
    assert merged.name_zh == "惠普" and merged.tier == "global500"
    assert set(after.aliases) == {
        "惠普公司",
        "重庆惠普",
        "惠普（重庆）有限公司",
        "Hewlett-Packard (Chongqing) Co., Ltd.",
    }
    assert after.clusters == ["NB"]
    assert session.get(Firm, world["sub"].id).parent_id == hp.id
    # the figures that do not depend on which record a project hung on are unchanged
    assert reports(session, admin) == before_reports
    # the ladder: one group now holds the signed output of both records (120 + 80)
    ladder = {
        lf.firm_id: lf
        for band in leaders_report(session, admin, ReportFilters()).bands
        for lf in band.firms
    }
    assert ladder[hp.id].output == Decimal("200") and dup.id not in ladder
    assert sum(lf.output for lf in ladder.values()) == before_ladder_total
    # 撞单: the moved NB project of department 2 and the NB project of department 1
    p_hp, p_dup = session.get(Project, world["p_hp"].id), session.get(Project, world["p_dup"].id)
    assert p_dup.conflict_with_id == p_hp.id and p_hp.conflict_with_id == p_dup.id
    assert session.get(Project, world["p_dup2"].id).conflict_with_id is None


def test_undo_restores_the_exact_rows(session, world):
    admin, hp, dup = world["admin"], world["hp"], world["dup"]
    session.flush()
    before = dump(session)
    rec = merge_firms(session, admin, hp.id, dup.id, {"website": "other", "name_zh": "other"})
    session.flush()
    assert dump(session) != before
    undo_merge(session, admin, rec.id)
    session.flush()
    session.expire_all()
    assert dump(session) == before
    with pytest.raises(Conflict):
        undo_merge(session, admin, rec.id)  # once only


def test_undo_is_refused_once_a_moved_row_changed(session, world):
    admin, hp, dup, c = world["admin"], world["hp"], world["dup"], world["c_dup"]
    rec = merge_firms(session, admin, hp.id, dup.id)
    update_contact(session, admin, c.id, ContactUpdate(version=c.version, title="总经理"))
    with pytest.raises(Conflict):
        undo_merge(session, admin, rec.id)
    assert session.get(Firm, dup.id) is None


@pytest.mark.parametrize("logged", ["activity", "followup"])
def test_undo_is_refused_once_something_new_is_logged_on_a_moved_project(session, world, logged):
    """Undone, a contact or follow-up logged on a moved project since the merge would point at
    a project of another firm (ATTACK7 P2-1): the undo is refused and nothing changes."""
    admin, hp, dup, p_dup = world["admin"], world["hp"], world["dup"], world["p_dup"]
    rec = merge_firms(session, admin, hp.id, dup.id)
    if logged == "activity":
        log_activity(
            session,
            admin,
            ActivityCreate(kind="call", summary="合并后", firm_ids=[hp.id], project_ids=[p_dup.id]),
        )
    else:
        make_followup(session, admin, firm_id=hp.id, project_id=p_dup.id)
    session.flush()
    before = dump(session)
    with pytest.raises(Conflict):
        undo_merge(session, admin, rec.id)
    session.expire_all()
    assert dump(session) == before and session.get(Firm, dup.id) is None


def test_a_new_contact_on_the_survivor_alone_does_not_block_the_undo(session, world):
    admin, hp, dup = world["admin"], world["hp"], world["dup"]
    rec = merge_firms(session, admin, hp.id, dup.id)
    log_activity(session, admin, ActivityCreate(kind="call", summary="只记企业", firm_ids=[hp.id]))
    undo_merge(session, admin, rec.id)
    session.flush()
    assert session.get(Firm, dup.id) is not None


def _chain(session, admin):
    """x, y, z with z under x and y under z: merging y into x with y's parent makes x its own
    grandparent (ATTACK7 P2-2)."""
    x = create_firm(session, admin, FirmCreate(name_zh="环甲科技有限公司"))
    z = create_firm(session, admin, FirmCreate(name_zh="环丙材料有限公司", parent_id=x.id))
    y = create_firm(session, admin, FirmCreate(name_zh="环乙电子有限公司", parent_id=z.id))
    session.flush()
    return x, y, z


def test_a_parent_chosen_from_the_merged_group_is_refused(session, world):
    admin = world["admin"]
    x, y, _z = _chain(session, admin)
    before = dump(session)
    with pytest.raises(ValidationFailed) as err:
        merge_firms(session, admin, x.id, y.id, {"parent_id": "other"})
    assert err.value.field == "parent_id"
    session.expire_all()
    assert dump(session) == before


def test_a_default_parent_from_the_merged_group_gives_way(session, world):
    admin = world["admin"]
    x, y, z = _chain(session, admin)
    # x has no parent: the default takes y's (z), which is x's own subsidiary — it gives way
    merge_firms(session, admin, x.id, y.id)
    session.expire_all()
    assert session.get(Firm, x.id).parent_id is None
    assert session.get(Firm, z.id).parent_id == x.id


def test_officers_cannot_merge(session, world):
    with pytest.raises(PermissionDenied):
        merge_firms(session, world["o1"], world["hp"].id, world["dup"].id)


def test_credit_code_can_move_to_the_survivor(session, world):
    from crm.text import credit_code_check_digit

    body = "91500000MA5U7AB1X"
    code = body + credit_code_check_digit(body)
    dup = world["dup"]
    dup.credit_code = code
    session.add(dup)
    session.flush()
    rec = merge_firms(session, world["admin"], world["hp"].id, dup.id)
    assert session.get(Firm, world["hp"].id).credit_code == code
    assert session.scalar(select(FirmAlias.firm_id).where(FirmAlias.alias == "重庆惠普"))
    undo_merge(session, world["admin"], rec.id)
    session.expire_all()
    assert session.get(Firm, dup.id).credit_code == code
    assert session.get(Firm, world["hp"].id).credit_code is None


def test_a_merge_tells_the_owners_and_their_managers(session):
    """The firm_merged notice: both firms' owners and their departments' managers, not the
    one who merged, and not another department's manager."""
    from crm.models.notices import Notice

    a, b, c = make_department(session), make_department(session), make_department(session)
    owner_a, owner_b = make_user(session, "officer", a), make_user(session, "officer", b)
    manager_a, manager_b = make_user(session, "manager", a), make_user(session, "manager", b)
    bystander = make_user(session, "manager", c)
    admin = make_user(session, "admin")
    keep = create_firm(session, owner_a, FirmCreate(name_zh="惠普"), confirm=True)
    other = create_firm(session, owner_b, FirmCreate(name_zh="惠普（中国）有限公司"), confirm=True)
    merge_firms(session, admin, keep.id, other.id)
    told = session.execute(select(Notice.user_id, Notice.kind, Notice.firm_id, Notice.link)).all()
    assert sorted(told) == sorted(
        (u.id, "merged", keep.id, f"/firms/{keep.id}")
        for u in (owner_a, owner_b, manager_a, manager_b)
    )
    assert bystander.id not in {t[0] for t in told} and admin.id not in {t[0] for t in told}
    # the text is kept as a message: each reader sees it in their language
    (row,) = list_notices(session, owner_b)
    assert str(row.text) == "你的企业已合并：惠普"
    assert row.text.render("en") == "Your firm was merged: 惠普"


def _race(session, first, second):
    """``first`` runs in its own session and holds its transaction open while ``second`` runs in
    another (a thread, as two requests would: each opened as a writer, ``begin_write``); then
    ``first`` commits. Returns what ``second`` raised (or None)."""
    import threading

    from sqlmodel import Session

    from crm.db import begin_write, get_engine

    session.commit()
    engine = get_engine()
    caught: list[BaseException | None] = []

    def run_second() -> None:
        with Session(engine, expire_on_commit=False) as s2:
            try:
                begin_write(s2)
                second(s2)
                s2.commit()
                caught.append(None)
            except Exception as exc:
                s2.rollback()
                caught.append(exc)

    with Session(engine, expire_on_commit=False) as s1:
        begin_write(s1)
        first(s1)
        s1.flush()
        t = threading.Thread(target=run_second)
        t.start()
        if engine.dialect.name == "postgresql":  # let the second reach the first one's locks
            with engine.connect() as c:
                for _ in range(600):
                    waiting = c.exec_driver_sql(
                        "select count(*) from pg_stat_activity"
                        " where wait_event_type = 'Lock' and datname = current_database()"
                    ).scalar()
                    if waiting or not t.is_alive():
                        break
                    t.join(0.05)
        s1.commit()
        t.join(120)
    return caught[0]


def _merges(session, survivor_id: int) -> int:
    from crm.models.audit import AuditRecord

    session.expire_all()
    return len(
        session.scalars(
            select(AuditRecord.id).where(
                AuditRecord.action == "merge", AuditRecord.entity_id == str(survivor_id)
            )
        ).all()
    )


def test_two_merges_of_one_pair_at_once_record_one(session, world):
    """ATTACK7 P2-4: the same merge sent twice at once — one merges, the other is told the firm
    is gone (404) or was changed (409); never a 500, never the merge recorded twice."""
    from crm.errors import NotFound
    from crm.models.accounts import User

    admin, hp, dup = world["admin"], world["hp"], world["dup"]
    aid, hid, did = admin.id, hp.id, dup.id
    err = _race(
        session,
        lambda s: merge_firms(s, s.get(User, aid), hid, did),
        lambda s: merge_firms(s, s.get(User, aid), hid, did),
    )
    assert isinstance(err, NotFound | Conflict), repr(err)
    assert _merges(session, hid) == 1


def test_opposite_merges_of_one_pair_at_once(session, world):
    """A←B and B←A at once: one wins, the other is refused with 404."""
    from crm.errors import NotFound
    from crm.models.accounts import User

    aid, hid, did = world["admin"].id, world["hp"].id, world["dup"].id
    err = _race(
        session,
        lambda s: merge_firms(s, s.get(User, aid), hid, did),
        lambda s: merge_firms(s, s.get(User, aid), did, hid),
    )
    assert isinstance(err, NotFound | Conflict), repr(err)
    assert _merges(session, hid) + _merges(session, did) == 1


def test_two_undos_of_one_merge_at_once(session, world):
    """Two undos of one merge at once: one puts the firm back, the other gets 409 "该合并已撤销";
    never the firm inserted twice (a 500)."""
    from crm.models.accounts import User

    aid, hid, did = world["admin"].id, world["hp"].id, world["dup"].id
    rec = merge_firms(session, world["admin"], hid, did)
    session.flush()
    rid = rec.id
    err = _race(
        session,
        lambda s: undo_merge(s, s.get(User, aid), rid),
        lambda s: undo_merge(s, s.get(User, aid), rid),
    )
    assert isinstance(err, Conflict), repr(err)
    session.expire_all()
    assert session.get(Firm, did) is not None


def test_a_conflict_a_merge_opens_tells_both_managers(session, world):
    """ATTACK7 P2-5: the merge puts department 2's NB project beside department 1's on one firm
    (撞单): both departments' managers get the conflict notice and e-mail, as when a project is
    created in conflict — the same path (conflict_opened), once."""
    from crm.models.notices import Notice
    from crm.models.outbox import OutboxMessage

    p_hp, p_dup = world["p_hp"], world["p_dup"]
    m1 = make_user(session, "manager", department_id=p_hp.department_id, email="m1@example.com")
    m2 = make_user(session, "manager", department_id=p_dup.department_id, email="m2@example.com")
    merge_firms(session, world["admin"], world["hp"].id, world["dup"].id)
    session.flush()
    told = session.execute(
        select(Notice.user_id, Notice.project_id).where(Notice.kind == "conflict")
    ).all()
    later = max((p_hp, p_dup), key=lambda p: (p.created_at, p.id))
    assert sorted(told) == sorted([(m1.id, later.id), (m2.id, later.id)])
    mails = session.scalars(
        select(OutboxMessage.recipient).where(OutboxMessage.kind == "conflict")
    ).all()
    assert sorted(mails) == sorted([m1.email, m2.email])


def test_undo_is_refused_when_a_new_firm_took_the_merged_ones_id(session, world):
    """ATTACK7 P2-7: SQLite gives a removed firm's id to the next new firm; the undo then can no
    longer put the other firm back under its id — refused with 409, never a 500."""
    admin, hp, dup = world["admin"], world["hp"], world["dup"]
    rec = merge_firms(session, admin, hp.id, dup.id)
    session.flush()
    session.add(
        Firm(id=dup.id, name_zh="新来的企业", name_norm="新来的企业", search_text="新来的企业")
    )
    session.flush()
    with pytest.raises(Conflict) as exc:
        undo_merge(session, admin, rec.id)
    assert "编号已被新企业占用" in exc.value.message.render("zh_CN")
