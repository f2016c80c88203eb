"""A firm's timeline read in one statement (``firm_timeline_folded``, PostgreSQL's path: its page
and its entries' names and follow-ups, one round trip) is, for every kind of viewer and every
page, exactly the timeline read in two (``list_activity_rows`` + ``entries_for``): the same
activities in the same order, the same names, follow-ups and firms met, the same total. Run on
both databases (the folded statement is valid on SQLite too; only PostgreSQL uses it)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from crm.activities.reads import ActivityFilters, list_activity_rows
from crm.activities.schemas import ActivityCreate, InlineFollowup
from crm.activities.service import log_activity
from crm.activities.timeline import TimelineEntry, entries_for, firm_timeline_folded
from crm.models.firms import Contact
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user

_SHOWN = ("id", "kind", "occurred_at", "summary", "outcome", "created_by_id")


def _seen(entries: list[TimelineEntry]) -> list[tuple[Any, ...]]:
    return [
        (
            tuple(getattr(e.activity, k) for k in _SHOWN),
            e.contacts,
            e.officers,
            e.projects,
            [tuple(n) for n in e.followups],
            e.firms,
        )
        for e in entries
    ]


def test_the_folded_timeline_is_the_timeline_for_every_viewer_and_page(session: Session) -> None:
    a, b = make_department(session), make_department(session)
    own, colleague = make_user(session, "officer", a), make_user(session, "officer", a)
    other = make_user(session, "officer", b)
    manager = make_user(session, "manager", a)
    firm, partner = make_firm(session, "时间线企业"), make_firm(session, "同行企业")
    quiet = make_firm(session, "无记录企业")
    contact = Contact(firm_id=firm.id, name="联系人甲")
    session.add(contact)
    session.flush()
    open_project = make_project(session, firm, "NB", owner=own, title="公开项目")
    secret_a = make_project(
        session, firm, "IC", owner=own, title="绝密甲", is_confidential=True, code_name="白鹭"
    )
    secret_b = make_project(
        session, firm, "IC", owner=other, title="绝密乙", is_confidential=True, code_name="灰鹤"
    )
    session.commit()
    now = utcnow().replace(microsecond=0)
    same_moment = now - timedelta(days=3)  # several at one instant: ordered by id, newest first
    for i in range(23):
        by = other if i % 5 == 4 else own
        projects = (
            [secret_b.id]
            if by is other
            else [secret_a.id]
            if i % 3 == 0
            else [open_project.id]
            if i % 3 == 1
            else []
        )
        log_activity(
            session,
            by,
            ActivityCreate(
                kind="visit" if i % 2 else "call",
                occurred_at=same_moment if i % 4 == 0 else now - timedelta(hours=i),
                summary=f"第{i}次接触",
                outcome="有进展" if i % 3 else None,
                firm_ids=[firm.id, partner.id] if i % 6 == 0 else [firm.id],
                project_ids=projects,
                contact_ids=[contact.id] if i % 2 == 0 and by is own else [],
                officer_ids=[colleague.id] if i % 7 == 0 and by is own else [],
                followups=[
                    InlineFollowup(title=f"回访{i}-{k}", due_at=now + timedelta(days=k + 1))
                    for k in range(i % 3)
                ],
            ),
        )
        session.commit()
    for user in (own, other, manager, colleague):
        for limit, offset in ((20, 0), (20, 20), (5, 0), (5, 10), (30, 0), (1, 0)):
            want, want_total = list_activity_rows(
                session, user, ActivityFilters(firm_id=firm.id), limit=limit, offset=offset
            )
            folded = firm_timeline_folded(session, user, firm.id, limit, offset)
            if not want and offset:
                assert folded is None  # past the end: counted apart
                continue
            assert folded is not None
            entries, total = folded
            assert _seen(entries) == _seen(entries_for(session, user, want)), (user.id, limit)
            assert total == want_total, (user.id, limit, offset)
        assert firm_timeline_folded(session, user, quiet.id, 20, 0) == ([], 0)
    # the other department's officer sees neither the first department's confidential project
    # nor the activities tied to it alone; the manager sees everything
    mine = firm_timeline_folded(session, other, firm.id, 50, 0)
    assert mine is not None
    names = {n for e in mine[0] for _, n in e.projects}
    assert "绝密甲" not in names and "绝密乙" in names
    everything = firm_timeline_folded(session, manager, firm.id, 50, 0)
    assert everything is not None and everything[1] == 23
    assert mine[1] < 23


def test_the_folded_timelines_total_is_capped_as_the_lists(session: Session, monkeypatch) -> None:
    """A page longer than the cap holding the whole list still says "more than the cap", as
    ``list_activity_rows`` does (an outside review: the folded read gave the list's length).
    The cap is lowered to 2 so that four activities cross it."""
    import crm.activities.reads as reads
    import crm.activities.timeline as timeline

    manager = make_user(session, "manager", make_department(session))
    firm = make_firm(session, "封顶企业")
    session.commit()
    for i in range(4):
        log_activity(
            session,
            manager,
            ActivityCreate(
                kind="call", occurred_at=utcnow(), summary=f"第{i}次", firm_ids=[firm.id]
            ),
        )
        session.commit()
    monkeypatch.setattr(reads, "LIST_COUNT_CAP", 2)
    monkeypatch.setattr(timeline, "LIST_COUNT_CAP", 2)
    kept = (reads._LIST_STATEMENTS, reads._SHOWN_STATEMENTS, timeline._FOLDED)
    for statements in kept:  # built under the cap of 2, and forgotten after
        statements.clear()
    try:
        for limit in (2, 3, 20):
            _, want = list_activity_rows(
                session, manager, ActivityFilters(firm_id=firm.id), limit=limit
            )
            folded = firm_timeline_folded(session, manager, firm.id, limit, 0)
            assert folded is not None
            assert folded[1] == want == 3, limit  # the cap + 1
    finally:
        for statements in kept:
            statements.clear()
