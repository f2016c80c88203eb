"""Scheduled messages end to end: compose → outbox → real SMTP / HTTP, with the clock controlled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from crm.models.followups import Followup
from crm.models.outbox import JobRun, OutboxMessage
from crm.models.projects import StageChange
from jobs import tasks
from jobs.runner import catch_up, catch_up_plan
from tests.factories import make_department, make_firm, make_project, make_user
from tests.servers import body_html, body_text

# 09:00 in Shanghai on Tuesday 2026-11-24
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def fu(session, user, title, due, **kw):
    f = Followup(title=title, due_at=due, assignee_id=user.id, created_by_id=user.id, **kw)
    session.add(f)
    session.flush()
    return f


def world(session):
    d1, d2 = make_department(session), make_department(session)
    a = make_user(session, "officer", d1, display_name="张三", email="zhang@example.com")
    b = make_user(
        session, "officer", d1, display_name="Bob", email="bob@example.com", language="en"
    )
    c = make_user(session, "officer", d2, display_name="陈七", email="chen@example.com")
    firm = make_firm(session, "保密电子")
    secret = make_project(
        session,
        firm,
        "NB",
        owner=c,
        is_confidential=True,
        code_name="青龙计划",
        title="保密电子笔记本项目",
    )
    open_firm = make_firm(session, "惠普测试")
    fu(session, a, "回访惠普", NOW - timedelta(days=2), firm_id=open_firm.id)  # overdue
    fu(session, a, "寄送资料", NOW + timedelta(hours=3))  # today (12:00 local)
    fu(session, a, "明天的事", NOW + timedelta(days=1))  # tomorrow: not listed
    fu(session, a, "已完成", NOW - timedelta(hours=1), status="done")
    fu(session, b, "看不见的项目", NOW, project_id=secret.id)  # hidden from b (other dept)
    fu(session, c, "保密回访", NOW - timedelta(hours=5), project_id=secret.id, firm_id=firm.id)
    session.commit()
    return a, b, c


def test_the_right_officers_get_the_right_lists_once(session, smtp):
    world(session)
    assert tasks.daily_reminders(NOW) == 2
    assert tasks.daily_reminders(NOW + timedelta(minutes=5)) == 0  # a job run twice
    assert tasks.drain(NOW).sent == 2
    assert tasks.drain(NOW + timedelta(hours=1)).total == 0
    assert sorted(m["To"] for m in smtp.messages) == ["chen@example.com", "zhang@example.com"]
    (za,) = smtp.inbox.to("zhang@example.com")
    text = body_text(za)
    assert "回访惠普" in text and "寄送资料" in text and "惠普测试" in text
    assert "明天的事" not in text and "已完成" not in text
    assert "2 项待办，其中 1 项逾期" in za["Subject"]
    assert "http://" in text and "回访惠普" in body_html(za)
    (cm,) = smtp.inbox.to("chen@example.com")
    for part in (body_text(cm), body_html(cm), cm["Subject"]):
        assert "保密电子" not in part  # neither the project's title nor its firm
    # a confidential project's task: its code name and the kind of task, never its text
    assert "青龙计划" in body_text(cm) and "保密回访" not in body_text(cm)
    # the next day is a new day
    assert tasks.daily_reminders(NOW + timedelta(days=1)) == 2
    runs = session.scalars(select(JobRun).where(JobRun.job == "daily_reminders")).all()
    assert [r.status for r in runs] == ["ok", "ok", "ok"]


def test_message_in_the_recipients_language(session, smtp):
    d = make_department(session)
    b = make_user(session, "officer", d, display_name="Bob", email="bob@example.com", language="en")
    fu(session, b, "call HP", NOW - timedelta(days=1))
    session.commit()
    tasks.daily_reminders(NOW)
    tasks.drain(NOW)
    (m,) = smtp.messages
    assert m["Subject"].startswith("Today's follow-ups")
    assert "These follow-ups are due today or overdue" in body_text(m)


def test_a_followups_own_reminder_time(session, smtp):
    d = make_department(session)
    a = make_user(session, "officer", d, email="a@example.com")
    f = fu(session, a, "准时提醒", NOW + timedelta(hours=2), remind_at=NOW + timedelta(seconds=30))
    fu(session, a, "太久以前", NOW - timedelta(days=3), remind_at=NOW - timedelta(days=3))
    session.commit()
    assert tasks.followup_reminders(NOW) == 0
    assert tasks.followup_reminders(NOW + timedelta(minutes=1)) == 1
    assert tasks.followup_reminders(NOW + timedelta(minutes=2)) == 0
    tasks.drain(NOW + timedelta(minutes=1))
    (m,) = smtp.messages
    assert "准时提醒" in m["Subject"]
    # moved to a new reminder time: reminded again
    f.remind_at = NOW + timedelta(minutes=10)
    session.add(f)
    session.commit()
    assert tasks.followup_reminders(NOW + timedelta(minutes=11)) == 1


def test_stale_projects_to_owner_and_department_robot(session, smtp, robot):
    d = make_department(session, webhook_kind="wecom", webhook_url=robot.url + "/hook")
    owner = make_user(session, "officer", d, email="owner@example.com")
    stale = make_project(
        session,
        make_firm(session, "沉睡企业"),
        "NB",
        owner=owner,
        created_at=NOW - timedelta(days=90),
    )
    stale.last_activity_at = NOW - timedelta(days=45)
    fresh = make_project(
        session,
        make_firm(session, "活跃企业"),
        "NB",
        owner=owner,
        created_at=NOW - timedelta(days=90),
    )
    fresh.last_activity_at = NOW - timedelta(days=2)
    secret = make_project(
        session,
        make_firm(session, "机密企业"),
        "NB",
        owner=owner,
        is_confidential=True,
        code_name="白虎",
        created_at=NOW - timedelta(days=60),
    )
    lost = make_project(
        session,
        make_firm(session, "流失企业"),
        "NB",
        "lost",
        owner=owner,
        created_at=NOW - timedelta(days=90),
    )
    session.add_all([stale, fresh, secret, lost])
    session.commit()
    assert tasks.stale_alerts(NOW) == 2  # the owner's mail and the department robot
    assert tasks.stale_alerts(NOW + timedelta(days=1)) == 0  # once a week
    tasks.drain(NOW)
    (m,) = smtp.messages
    text = body_text(m)
    assert "沉睡企业" in text and "白虎" in text
    assert "活跃企业" not in text and "流失企业" not in text and "机密企业" not in text
    (req,) = robot.requests
    content = req["json"]["markdown"]["content"]
    assert "白虎" in content and "机密企业" not in content


def test_daily_summary_to_a_dingtalk_robot(session, smtp, robot):
    d = make_department(
        session,
        name="两江招商局",
        webhook_kind="dingtalk",
        webhook_url=robot.url + "/robot/send?access_token=t",
        webhook_secret="SECx",
    )
    a = make_user(session, "officer", d, display_name="张三", email="a@example.com")
    fu(session, a, "回访", NOW - timedelta(days=1))
    session.commit()
    assert tasks.daily_reminders(NOW) == 2
    assert tasks.drain(NOW).sent == 2
    (req,) = robot.requests
    assert "sign=" in req["path"]
    assert "张三" in req["json"]["markdown"]["text"]
    assert "两江招商局" in req["json"]["markdown"]["text"]


def test_weekly_digest_to_managers_and_department_robots(session, smtp, robot):
    d1 = make_department(
        session, name="一号部门", webhook_kind="wecom", webhook_url=robot.url + "/w"
    )
    d2 = make_department(
        session, name="二号部门", webhook_kind="wecom", webhook_url=robot.url + "/w2"
    )
    make_user(session, "manager", d1, email="m1@example.com", display_name="王处长")
    make_user(session, "manager", d2)  # no email: no message
    o1 = make_user(session, "officer", d1, display_name="一号专员")
    o2 = make_user(session, "officer", d2, display_name="二号专员")
    hp = make_firm(session, "惠普签约", global500_rank=50)
    p1 = make_project(session, hp, "NB", "signed", owner=o1, created_at=NOW - timedelta(days=3))
    p2 = make_project(
        session,
        make_firm(session, "保密签约"),
        "DATA",
        "signed",
        owner=o2,
        is_confidential=True,
        code_name="朱雀",
        created_at=NOW - timedelta(days=4),
    )
    for p in (p1, p2):
        session.add(
            StageChange(
                project_id=p.id,
                from_stage="negotiating",
                to_stage="signed",
                changed_at=NOW - timedelta(days=3),
            )
        )
    fu(session, o1, "逾期一", NOW - timedelta(days=10))
    fu(session, o2, "逾期二", NOW - timedelta(days=10))
    session.commit()
    assert tasks.weekly_digest(NOW) == 3  # the manager's mail and the two robots
    assert tasks.weekly_digest(NOW + timedelta(days=1)) == 0
    tasks.drain(NOW)
    robots = {r["path"].split("?")[0]: r["json"]["markdown"]["content"] for r in robot.requests}
    md, md2 = robots["/w"], robots["/w2"]
    # a department's group (its officers read it) gets its own department's figures: another
    # department's confidential signing does not exist for them, not even by code name (ATTACK7)
    assert "招商周报" in md and "一号部门" in md and "一号专员: 1" in md
    assert "二号专员" not in md and "朱雀" not in md and "保密签约" not in md
    assert "新增项目: 1" in md and "阶段变动: 1" in md and "本周签约 (1)" in md
    assert "朱雀" in md2 and "保密签约" not in md2 and "新增项目: 1" in md2
    (m,) = smtp.messages
    text = body_text(m)
    assert "惠普签约" in text and "朱雀" in text and "保密签约" not in text
    assert "新增项目: 2" in text  # the manager reads the city's figures
    assert "一号专员: 1" in text and "二号专员" not in text  # their own department's officers
    assert "笔记本" in text or "NB" in text.lower() or "Notebook" in text
    assert "集成电路" in text  # a gap: no major investor there


def _ran_before(session, *jobs, at=NOW - timedelta(days=3)):
    for job in jobs:
        session.add(JobRun(job=job, started_at=at, finished_at=at, status="ok"))
    session.commit()


def test_catch_up_after_downtime_runs_a_missed_job_once(session, smtp):
    d = make_department(session)
    a = make_user(session, "officer", d, email="a@example.com")
    fu(session, a, "回访", NOW - timedelta(days=1))
    _ran_before(session, "daily_reminders", "weekly_digest")
    # 09:00 Tuesday: today's 08:30 run and this week's Monday digest were missed
    ran = catch_up(NOW)
    assert "daily_reminders" in ran and "weekly_digest" in ran
    assert catch_up(NOW + timedelta(minutes=1)) == []
    n = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == "daily_reminder")
    )
    assert n == 1


def test_a_fresh_install_makes_nothing_up(session):
    assert catch_up_plan(NOW) == []
    assert catch_up(NOW) == []


def test_catch_up_at_night_waits_for_the_proper_time(session):
    """Restarted at 02:30 Tuesday after a missed Monday: yesterday's reminders are not sent at
    night (today's 08:30 run covers them), the week's missed digest waits for 08:00."""
    _ran_before(session, "daily_reminders", "stale_alerts", "weekly_digest")
    night = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)  # 02:30 Tuesday in Shanghai
    plan = catch_up_plan(night)
    assert [job for job, _ in plan] == ["weekly_digest"]
    assert plan[0][1] == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 08:00 local
    assert catch_up(night) == []


def test_a_followup_added_before_the_reminder_time_is_in_that_days_reminder(session, smtp):
    d = make_department(session)
    a = make_user(session, "officer", d, email="a@example.com")
    fu(session, a, "昨天的", NOW - timedelta(days=1))
    _ran_before(session, "daily_reminders")
    night = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)  # 02:30
    assert catch_up(night) == []
    fu(session, a, "三点加的", datetime(2026, 11, 23, 19, 0, tzinfo=UTC) + timedelta(hours=5))
    session.commit()
    at_0830 = datetime(2026, 11, 24, 0, 30, tzinfo=UTC)
    assert tasks.daily_reminders(at_0830) == 1
    tasks.drain(at_0830)
    (m,) = smtp.messages
    assert "昨天的" in body_text(m) and "三点加的" in body_text(m)
