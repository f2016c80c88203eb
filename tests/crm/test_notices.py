"""Conflicts that reach the managers (SPEC §3): both departments' managers get one notice and one
message each, once; the officer of the later project learns only that another department
reported first and that their manager was told; the managers resolve it (audited)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.clock import today_local
from crm.errors import PermissionDenied, ValidationFailed
from crm.i18n import using
from crm.models.audit import AuditRecord
from crm.models.notices import Notice
from crm.models.outbox import OutboxMessage
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.notices import service
from crm.outbox.digest import compose_weekly_digest
from crm.projects.schemas import ProjectCreate, ProjectUpdate
from crm.projects.service import conflict_info, create_project, update_project
from crm.reports.conflicts import conflicts_between, open_conflicts
from tests.factories import make_department, make_firm, make_user


def world(session):
    a, b, c = make_department(session), make_department(session), make_department(session)
    return {
        "a": a,
        "b": b,
        "oa": make_user(session, "officer", a),
        "ob": make_user(session, "officer", b),
        "ma": make_user(session, "manager", a, email="ma@example.org"),
        "mb": make_user(session, "manager", b, email="mb@example.org"),
        "mc": make_user(session, "manager", c, email="mc@example.org"),  # not involved
        "firm": make_firm(session, "撞单集团", global500_rank=9),
    }


def conflict(session, w):
    first = create_project(
        session,
        w["oa"],
        ProjectCreate(
            firm_id=w["firm"].id,
            cluster="NB",
            title="撞单集团笔记本基地",
            is_confidential=True,
            code_name="雪松",
        ),
    )
    later = create_project(session, w["ob"], ProjectCreate(firm_id=w["firm"].id, cluster="NB"))
    session.commit()
    return first, later


def test_both_managers_told_once_and_the_officer_learns_only_what_spec_allows(session):
    w = world(session)
    first, later = conflict(session, w)
    assert later.conflict_with_id == first.id
    notices = session.scalars(select(Notice).where(Notice.kind == "conflict")).all()
    assert sorted(n.user_id for n in notices) == sorted([w["ma"].id, w["mb"].id])
    mails = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "conflict")).all()
    assert sorted(m.recipient for m in mails) == ["ma@example.org", "mb@example.org"]
    for m in mails:  # the confidential project by its code name only
        assert "雪松" in m.body_text and "撞单集团笔记本基地" not in m.body_text
    for n in notices:
        assert "雪松" in n.text and "撞单集团笔记本基地" not in n.text
    # told once: telling again adds nothing
    assert service.conflict_opened(session, first, later) == 0
    session.commit()
    assert session.scalar(select(Notice.id).where(Notice.user_id == w["mc"].id)) is None
    assert len(session.scalars(select(OutboxMessage)).all()) == 2
    assert service.unread_count(session, w["ma"]) == 1
    assert service.unread_count(session, w["ob"]) == service.unread_count(session, w["oa"]) == 0
    # the officer of the later project: no id, code name, title, department or date
    info = conflict_info(session, w["ob"], later)  # the rule of crm/authz (#12)
    assert info["hidden"] and not info["this_has_priority"]
    assert (
        "雪松" not in str(info) and w["a"].name not in str(info) and str(first.id) not in str(info)
    )
    # the managers' list shows the pair to both
    for m in (w["ma"], w["mb"]):
        rows = open_conflicts(session, m)
        assert [(r.first_label, r.later_id) for r in rows] == [("雪松", later.id)]
    assert open_conflicts(session, w["mc"]) == []
    service.mark_all_read(session, w["ma"])
    assert service.unread_count(session, w["ma"]) == 0


def test_the_digest_reads_the_conflicts_opened_in_its_period(session):
    """``conflicts_between``: each pair opened in [since, until) with both projects' labels
    (the confidential one by its code name), their departments and the cluster in the reader's
    language; a pair opened before the period is not in it."""
    w = world(session)
    _first, later = conflict(session, w)
    opened = later.created_at
    (row,) = conflicts_between(
        session, opened - timedelta(seconds=1), opened + timedelta(seconds=1)
    )
    # beside the code name, the twin by its department only (ATTACK9 P3-17)
    assert (row["first"], str(row["later"])) == ("雪松", f"{w['b'].name}的项目")
    assert (row["first_dept_id"], row["later_dept_id"]) == (w["a"].id, w["b"].id)
    nb = session.scalar(select(Cluster).where(Cluster.code == "NB"))
    assert (row["cluster"].render("zh_CN"), row["cluster"].render("en")) == (nb.name_zh, nb.name_en)
    assert (
        conflicts_between(session, opened + timedelta(seconds=1), opened + timedelta(days=7)) == []
    )


def test_resolve_closes_or_transfers_the_other_and_is_audited(session):
    w = world(session)
    first, later = conflict(session, w)
    service.resolve_conflict(session, w["mb"], first.id, later.id, "close", "首报部门继续")
    session.commit()
    later = session.get(Project, later.id)
    assert later.stage == "lost" and later.lost_reason == "首报部门继续"
    assert (
        later.conflict_with_id is None and session.get(Project, first.id).conflict_with_id is None
    )
    # crm.changes.apply_change (#15): one resolve_conflict row per project the decision changed
    # (the other project: its columns, the decision and the project kept; the kept one: its
    # pointer), each of the columns that changed
    audit = session.scalars(
        select(AuditRecord).where(AuditRecord.action == "resolve_conflict").order_by(AuditRecord.id)
    ).all()
    assert [(r.entity, r.entity_id, r.actor_id) for r in audit] == [
        ("project", str(later.id), w["mb"].id),
        ("project", str(first.id), w["mb"].id),
    ]
    (b0, a0), (b1, a1) = ((json.loads(r.before), json.loads(r.after)) for r in audit)
    assert (b0["stage"], a0["stage"], a0["lost_reason"]) == ("lead", "lost", "首报部门继续")
    assert (a0["action"], a0["keep"], b0["action"], b0["keep"]) == ("close", first.id, None, None)
    assert (b0["conflict_with_id"], a0["conflict_with_id"]) == (first.id, None)
    assert a0["version"] == b0["version"] + 1
    assert (b1["conflict_with_id"], a1["conflict_with_id"], a1["action"]) == (
        later.id,
        None,
        "close",
    )
    assert "stage" not in a1 and a1["version"] == b1["version"] + 1
    assert open_conflicts(session, w["ma"]) == []

    firm2 = make_firm(session, "移交集团", china500_rank=3)
    a = create_project(session, w["oa"], ProjectCreate(firm_id=firm2.id, cluster="COMM"))
    b = create_project(session, w["ob"], ProjectCreate(firm_id=firm2.id, cluster="COMM"))
    service.resolve_conflict(session, w["mb"], a.id, b.id, "transfer")  # b's manager yields
    session.commit()
    b = session.get(Project, b.id)
    assert b.department_id == w["a"].id and b.stage == "lead" and b.conflict_with_id is None
    row = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.action == "resolve_conflict", AuditRecord.entity_id == str(b.id))
        .order_by(AuditRecord.id.desc())
    ).first()
    before, after = json.loads(row.before), json.loads(row.after)
    assert (before["department_id"], after["department_id"]) == (w["b"].id, w["a"].id)
    assert (after["action"], after["keep"]) == ("transfer", a.id)


def test_a_refused_decision_changes_nothing(session):
    """A decision that is neither close nor transfer is refused before anything is written:
    both whole rows, the stage history and the audit as they were."""
    from crm.models.projects import StageChange

    w = world(session)
    first, later = conflict(session, w)
    session.commit()

    def state():  # type: ignore[no-untyped-def]
        session.expire_all()
        return (
            [session.get(Project, i).model_dump() for i in (first.id, later.id)],
            session.scalars(select(StageChange.id)).all(),
            session.scalars(select(AuditRecord.id)).all(),
        )

    before = state()
    with pytest.raises(ValidationFailed):
        service.resolve_conflict(session, w["mb"], first.id, later.id, "merge")
    session.rollback()
    assert state() == before


def test_assignment_to_you_is_a_notice(session):
    w = world(session)
    p = create_project(session, w["ma"], ProjectCreate(firm_id=w["firm"].id, cluster="IC"))
    session.commit()
    update_project(session, w["ma"], p.id, ProjectUpdate(owner_id=w["oa"].id, version=p.version))
    session.commit()
    rows = service.list_notices(session, w["oa"])
    assert [r.kind for r in rows] == ["assigned"] and rows[0].link == f"/projects/{p.id}"


def test_a_manager_gives_up_only_their_own_departments_project(session):
    """One department's manager may not close or take the other department's project (here the
    first-reported, confidential one): refused, nothing changes; that project's own manager (or
    an admin) may yield it. The default lost reason names the department that keeps."""
    w = world(session)
    first, later = conflict(session, w)

    def rows():  # type: ignore[no-untyped-def]
        session.expire_all()
        return [session.get(Project, i).model_dump() for i in (first.id, later.id)]

    before = rows()
    for action in ("transfer", "close"):
        with pytest.raises(PermissionDenied):
            service.resolve_conflict(session, w["mb"], later.id, first.id, action)
    session.rollback()
    assert rows() == before
    assert (
        session.scalar(select(AuditRecord.id).where(AuditRecord.action == "resolve_conflict"))
        is None
    )
    # department A's manager yields the first project to the later one: allowed
    service.resolve_conflict(session, w["ma"], later.id, first.id, "close")
    session.commit()
    gone = session.get(Project, first.id)
    assert gone.stage == "lost" and gone.lost_reason == "撞单裁决：由后报部门跟进"
    assert gone.department_id == w["a"].id


def test_an_english_manager_reads_the_plans_names_in_english(session):
    """The notice, the email and the weekly digest name the cluster in the reader's language
    (the plan's English name); a department's name is what was typed, shown as it is."""
    w = world(session)
    w["ma"].language = "en"
    session.flush()
    nb = session.scalar(select(Cluster).where(Cluster.code == "NB"))
    assert nb.name_en and nb.name_en != nb.name_zh
    # (a project's title is what was typed: the default one, "firm · cluster", is stored once)
    create_project(session, w["oa"], ProjectCreate(firm_id=w["firm"].id, cluster="NB", title="甲"))
    create_project(session, w["ob"], ProjectCreate(firm_id=w["firm"].id, cluster="NB", title="乙"))
    session.commit()
    (notice,) = service.list_notices(session, w["ma"])
    with using("en"):
        assert nb.name_en in str(notice.text) and nb.name_zh not in str(notice.text)
    with using("zh_CN"):  # the Chinese manager's own notice: the Chinese name
        (theirs,) = service.list_notices(session, w["mb"])
        assert nb.name_zh in str(theirs.text)
    mail = session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "ma@example.org"))
    for body in (mail.subject, mail.body_text, mail.body_html):
        assert nb.name_zh not in body
    assert nb.name_en in mail.body_text and w["b"].name in mail.body_text
    compose_weekly_digest(session, day=today_local() + timedelta(days=7))
    digest = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.kind == "digest", OutboxMessage.recipient == "ma@example.org"
        )
    )
    assert nb.name_en in digest.body_text and nb.name_zh not in digest.body_text


def test_a_departments_group_robot_does_not_learn_anothers_confidential_project(session):
    """The robot of a department's group chat speaks to its officers: the first department's
    confidential project is "another department's" there — no code name, no department
    (SPEC §3, ATTACK7 P1-3); its own department's robot and the managers' mails name it."""
    w = world(session)
    for d in (w["a"], w["b"]):
        d.webhook_kind, d.webhook_url = "wecom", f"https://robot.example/{d.id}"
        session.add(d)
    session.flush()
    _first, later = conflict(session, w)
    robots = {
        m.department_id: m.body_text
        for m in session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "wecom"))
    }
    a_name, b_name = w["a"].name, w["b"].name
    theirs, ours = robots[w["b"].id], robots[w["a"].id]
    assert "雪松" not in theirs and "撞单集团笔记本基地" not in theirs and a_name not in theirs
    assert "另一部门的保密项目" in theirs and b_name in theirs
    assert "雪松" in ours and a_name in ours and "撞单集团笔记本基地" not in ours
    # one line per project (the two list items no longer run together)
    assert [ln for ln in theirs.splitlines() if ln.startswith("- ")] == [
        "- 首报: 另一部门的保密项目",
        f"- 后报: {later.title} · {b_name}",
    ]


def test_a_transfer_hands_the_projects_open_followups_to_its_new_owner(session):
    """ATTACK7 P2-6: a 撞单 transfer gives the project to the keeping department's owner; its
    open follow-ups go with it (audited) instead of staying with the old department's officer,
    who may no longer see the project — a done one stays as it was."""
    from crm.models.followups import Followup
    from tests.factories import make_followup

    w = world(session)
    firm2 = make_firm(session, "移交集团", china500_rank=3)
    a = create_project(session, w["oa"], ProjectCreate(firm_id=firm2.id, cluster="COMM"))
    b = create_project(
        session,
        w["ob"],
        ProjectCreate(firm_id=firm2.id, cluster="COMM", is_confidential=True, code_name="金沙"),
    )
    open_fu = make_followup(session, w["ob"], firm_id=firm2.id, project_id=b.id)
    done_fu = make_followup(session, w["ob"], firm_id=firm2.id, project_id=b.id, status="done")
    session.commit()
    version = open_fu.version
    service.resolve_conflict(session, w["mb"], a.id, b.id, "transfer")
    session.commit()
    session.expire_all()
    moved = session.get(Followup, open_fu.id)
    assert moved.assignee_id == w["oa"].id and moved.version == version + 1
    assert session.get(Followup, done_fu.id).assignee_id == w["ob"].id
    audit = session.scalars(
        select(AuditRecord).where(AuditRecord.action == "reassign", AuditRecord.entity == "project")
    ).all()
    assert len(audit) == 1 and audit[0].entity_id == str(b.id)
    assert str(open_fu.id) in (audit[0].after or "") and audit[0].actor_id == w["mb"].id


def test_two_decisions_on_one_conflict_at_once_apply_once(session):
    """ATTACK7 P2-10: two managers close the same 撞单 at once, each keeping another project —
    one decision applies, the other finds the conflict resolved (404); never both projects
    lost."""
    from crm.errors import NotFound
    from crm.models.accounts import User
    from tests.crm.test_firm_merge import _race

    w = world(session)
    first, later = conflict(session, w)
    fid, lid, admin_id = first.id, later.id, make_user(session, "admin").id
    err = _race(
        session,
        lambda s: service.resolve_conflict(s, s.get(User, admin_id), fid, lid, "close"),
        lambda s: service.resolve_conflict(s, s.get(User, admin_id), lid, fid, "close"),
    )
    assert isinstance(err, NotFound), repr(err)
    session.expire_all()
    stages = sorted(session.get(Project, i).stage for i in (fid, lid))
    assert stages.count("lost") == 1, stages


def test_a_department_without_a_manager_has_its_conflicts_told_to_the_admins(session):
    """ATTACK8 P3-12: only a department's manager or an admin may give up its project; with no
    manager (or only an inactive one) nobody on its side was told. The admins are, instead."""
    a, lonely = make_department(session), make_department(session)
    ma = make_user(session, "manager", a, email="ma@example.org")
    make_user(session, "manager", lonely, email="gone@example.org").is_active = False
    admin = make_user(session, "admin", None, email="admin@example.org")
    firm = make_firm(session, "无主管撞单企业")
    create_project(
        session,
        make_user(session, "officer", lonely),
        ProjectCreate(firm_id=firm.id, cluster="NB", title="无主管部门首报"),
    )
    create_project(
        session, make_user(session, "officer", a), ProjectCreate(firm_id=firm.id, cluster="NB")
    )
    session.commit()
    told = session.scalars(select(Notice.user_id).where(Notice.kind == "conflict")).all()
    assert sorted(told) == sorted([ma.id, admin.id])
    mails = session.scalars(select(OutboxMessage.recipient).where(OutboxMessage.kind == "conflict"))
    assert sorted(mails) == ["admin@example.org", "ma@example.org"]


def test_no_message_puts_a_code_name_beside_its_twins_title(session):
    """ATTACK9 P3-17: a 撞单 is the same firm, so the open twin's title names the firm a code name
    stands for. In every message that names the pair — the managers' notices and mails, the
    owning department's robot, the weekly digest — the twin is named by its department only;
    the /conflicts page (a page of the app) keeps both."""
    w = world(session)
    for d in (w["a"], w["b"]):
        d.webhook_kind, d.webhook_url = "wecom", f"https://robot.example/{d.id}"
        session.add(d)
    session.flush()
    _first, later = conflict(session, w)
    twin = f"{w['b'].name}的项目"
    with using("zh_CN"):
        texts = [str(n.text) for m in ("ma", "mb") for n in service.list_notices(session, w[m])]
    texts += [
        f"{m.subject or ''}\n{m.body_text}\n{m.body_html or ''}"
        for m in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "conflict", OutboxMessage.channel == "email"
            )
        )
    ]
    robot_a = session.scalar(
        select(OutboxMessage.body_text).where(
            OutboxMessage.channel == "wecom", OutboxMessage.department_id == w["a"].id
        )
    )
    for text in texts:
        assert later.title not in text and "撞单集团" not in text, text
    assert all("雪松" in t and twin in t for t in [*texts, robot_a])
    (row,) = conflicts_between(
        session, later.created_at - timedelta(seconds=1), later.created_at + timedelta(seconds=1)
    )
    assert (row["first"], str(row["later"])) == ("雪松", twin)
    # two open projects keep their titles; the /conflicts page keeps the pair
    rows = open_conflicts(session, w["ma"])
    assert [(r.first_label, r.later_label) for r in rows] == [("雪松", later.title)]


def test_deciding_one_pair_of_three_departments_leaves_the_other_open(session):
    """ATTACK9 P3-15: A first, B and C later, both flagged against A. Closing B cleared A's
    flag although C's 撞单 with A was still open (A's card and page lost the badge)."""
    w = world(session)
    c_dept = make_department(session)
    oc = make_user(session, "officer", c_dept)
    mc = make_user(session, "manager", c_dept)
    firm = w["firm"]
    a = create_project(session, w["oa"], ProjectCreate(firm_id=firm.id, cluster="IC"))
    b = create_project(session, w["ob"], ProjectCreate(firm_id=firm.id, cluster="IC"))
    c = create_project(session, oc, ProjectCreate(firm_id=firm.id, cluster="IC"))
    session.commit()
    assert (b.conflict_with_id, c.conflict_with_id) == (a.id, a.id)
    service.resolve_conflict(session, w["mb"], a.id, b.id, "close")
    session.commit()
    a, b, c = (session.get(Project, p.id) for p in (a, b, c))
    assert b.stage == "lost" and b.conflict_with_id is None
    assert a.conflict_with_id == c.id and c.conflict_with_id == a.id  # still in 撞单 with C
    for m in (w["ma"], mc):
        assert [(r.first_id, r.later_id) for r in open_conflicts(session, m)] == [(a.id, c.id)]
    # the last decision ends it for both
    service.resolve_conflict(session, mc, a.id, c.id, "close")
    session.commit()
    a, c = session.get(Project, a.id), session.get(Project, c.id)
    assert a.conflict_with_id is None and c.conflict_with_id is None
    assert open_conflicts(session, w["ma"]) == []
