"""The activity list's total: counted by a statement, by the page's own statement (a firm's or
project's timeline on PostgreSQL), or — when the whole list is on the first page — the page's
own length, which must be the same number (hidden activities excluded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crm.activities.reads import list_activity_rows
from crm.activities.schemas import ActivityCreate
from crm.activities.service import ActivityFilters, list_activities, log_activity
from crm.projects.schemas import ProjectCreate
from crm.projects.service import create_project
from tests.factories import make_department, make_firm, make_user


def test_the_total_is_the_same_whether_counted_or_read_off_the_page(session) -> None:
    a, b = make_department(session), make_department(session)
    oa, ob = make_user(session, "officer", a), make_user(session, "officer", b)
    firm = make_firm(session, "宏碁")
    secret = create_project(
        session,
        oa,
        ProjectCreate(firm_id=firm.id, cluster="NB", is_confidential=True, code_name="青龙"),
    )
    when = datetime.now(UTC) - timedelta(days=1)
    for i in range(3):
        log_activity(
            session,
            oa,
            ActivityCreate(kind="call", occurred_at=when, summary=f"电话 {i}", firm_ids=[firm.id]),
        )
    log_activity(  # ob's department does not see it
        session,
        oa,
        ActivityCreate(
            kind="visit",
            occurred_at=when,
            summary="保密拜访",
            firm_ids=[firm.id],
            project_ids=[secret.id],
        ),
    )
    f = ActivityFilters(firm_id=firm.id)
    for listed in (list_activities, list_activity_rows):
        for actor, n in ((oa, 4), (ob, 3)):
            counted = [
                listed(session, actor, f, limit=limit, offset=offset)[1]
                for limit, offset in ((0, 0), (2, 0), (2, 2), (1, 3), (50, 0), (n, 0), (50, 10))
            ]
            assert counted == [n] * 7, (listed.__name__, actor.id, counted)
            rows, total = listed(session, actor, f, limit=50)
            assert len(rows) == total == n
        # a project's timeline: the confidential project's one activity, for its department only
        g = ActivityFilters(project_id=secret.id)
        assert [listed(session, oa, g, limit=k)[1] for k in (0, 1, 5)] == [1, 1, 1]
        assert listed(session, ob, g, limit=1) == ([], 0)
    other = make_firm(session, "联想")
    assert list_activities(session, ob, ActivityFilters(firm_id=other.id)) == ([], 0)


def test_a_follow_up_lists_total_comes_with_its_page(session) -> None:
    """The follow-up list's page carries its capped count (one statement): the same total on
    every page, hidden follow-ups (on another department's confidential project) left out of the
    officer's own list and counted in a manager's team (managers see confidential projects); a
    page past the end counts on its own."""
    from crm.followups.service import FollowupFilters, list_followups
    from tests.factories import make_followup, make_project

    a, b = make_department(session), make_department(session)
    me, boss = make_user(session, "officer", a), make_user(session, "manager", a)
    other = make_user(session, "officer", b)
    firm = make_firm(session, "宏碁")
    secret = make_project(session, firm, "NB", owner=other, is_confidential=True)
    for i in range(55):
        make_followup(session, me, due_in=timedelta(hours=i), title=f"事项{i}")
    for _ in range(3):  # mine, but on a project my department may not see
        make_followup(session, me, project_id=secret.id)
    session.commit()
    mine = FollowupFilters(status="open")
    pages = [list_followups(session, me, mine, limit=20, offset=k) for k in (0, 20, 40, 60)]
    assert [len(rows) for rows, _ in pages] == [20, 20, 15, 0]
    assert [total for _, total in pages] == [55, 55, 55, 55]
    assert list_followups(session, me, mine, limit=50) == (list_followups(session, me, mine)[0], 55)
    team = FollowupFilters(status="open", team=True)
    totals = [list_followups(session, boss, team, limit=10, offset=k)[1] for k in (0, 50, 90)]
    assert totals == [58, 58, 58]
