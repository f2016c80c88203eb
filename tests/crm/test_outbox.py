"""The outbox: written once, claimed once, sent over real SMTP and HTTP, retried with back-off."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from crm.config import get_settings
from crm.db import session_scope
from crm.errors import Conflict, PermissionDenied
from crm.models.outbox import OutboxMessage
from crm.outbox import admin as outbox_admin
from crm.outbox import service as outbox
from crm.outbox.channels import dingtalk_signed_url
from crm.types import utcnow
from jobs.tasks import drain
from tests.factories import make_department, make_user
from tests.servers import body_text


def _mail(key: str, to: str = "a@example.com", **kw):
    return {
        "dedup_key": key,
        "kind": "daily_reminder",
        "channel": "email",
        "recipient": to,
        "subject": kw.pop("subject", f"subject {key}"),
        "body_text": f"body {key}",
        "body_html": f"<p>body {key}</p>",
        **kw,
    }


def _status(session) -> dict[str, int]:
    session.expire_all()
    return dict(
        session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ).all()
    )


def test_enqueue_twice_writes_once_with_a_stable_message_id(session):
    assert outbox.enqueue(session, **_mail("k1")) is True
    assert outbox.enqueue(session, **_mail("k1", subject="other")) is False
    assert outbox.enqueue_many(session, [_mail("k1"), _mail("k2"), _mail("k3")]) == 2
    session.commit()
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.dedup_key for r in rows] == ["k1", "k2", "k3"]
    assert rows[0].subject == "subject k1"
    assert rows[0].message_id != rows[1].message_id
    # the same key queued elsewhere (another installation, after a restore) is another message
    assert outbox.message_id_for("k1") != rows[0].message_id
    assert outbox.message_id_for("k1") != outbox.message_id_for("k1")
    assert rows[0].message_id.startswith("<") and rows[0].message_id.endswith(">")


def test_claim_is_atomic_and_a_crashed_claim_expires(session):
    now = utcnow()
    outbox.enqueue_many(session, [_mail(f"c{i}") for i in range(5)], now=now)
    session.commit()
    first = outbox.claim_due(session, now, limit=3)
    second = outbox.claim_due(session, now, limit=10)
    session.commit()
    assert len(first) == 3 and len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}
    assert outbox.claim_due(session, now + timedelta(seconds=10)) == []
    # nobody marked them: after the lease they are due again, as a crashed sender's
    lease = get_settings().outbox_lease_seconds
    again = outbox.claim_due(session, now + timedelta(seconds=lease + 1), limit=10)
    session.commit()
    assert len(again) == 5 and all(m.attempts == 0 for m in again)  # a claim is not a try


def test_drain_sends_each_message_once_over_smtp(session, smtp):
    outbox.enqueue_many(session, [_mail("m1", "a@example.com"), _mail("m2", "b@example.com")])
    session.commit()
    rep = drain()
    assert (rep.sent, rep.retried, rep.failed) == (2, 0, 0)
    assert drain().total == 0
    assert sorted(m["To"] for m in smtp.messages) == ["a@example.com", "b@example.com"]
    m1 = smtp.inbox.to("a@example.com")[0]
    stored = session.scalar(select(OutboxMessage.message_id).where(OutboxMessage.dedup_key == "m1"))
    assert m1["Message-ID"] == stored  # the one fixed when it was queued, on every try
    assert m1["Subject"] == "subject m1" and "body m1" in body_text(m1)
    assert _status(session) == {"sent": 2}


def test_smtp_down_for_a_while_then_up_delivers_everything_once(session, smtp):
    now = utcnow()
    outbox.enqueue_many(session, [_mail(f"d{i}", f"u{i}@example.com") for i in range(3)], now=now)
    session.commit()
    smtp.stop()
    # a pass stops at the first failure that is the server's: one try, the rest untried
    assert (drain(now).retried, drain(now).retried, drain(now).retried) == (1, 1, 1)
    # back-off: not due again until base·2^0 has passed, then base·2^1
    base = get_settings().outbox_backoff_seconds
    assert drain(now + timedelta(seconds=base - 1)).total == 0
    assert drain(now + timedelta(seconds=base + 1)).retried == 1
    assert drain(now + timedelta(seconds=base + 1)).retried == 1
    smtp.start()
    rep = drain(now + timedelta(seconds=base + 1 + 2 * base + 1))
    assert rep.sent == 3
    assert drain(now + timedelta(hours=2)).total == 0
    assert sorted(m["To"] for m in smtp.messages) == [f"u{i}@example.com" for i in range(3)]
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    # attempts count real tries: two failed and the sending one (the third failed once)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 3), ("sent", 3), ("sent", 2)]


def test_past_the_limit_a_message_fails_and_an_admin_can_retry_it(session, smtp, monkeypatch):
    monkeypatch.setattr(get_settings(), "outbox_max_attempts", 2)
    admin = make_user(session, "admin")
    officer = make_user(session, "officer")
    now = utcnow()
    outbox.enqueue(session, now=now, **_mail("f1"))
    session.commit()
    smtp.inbox.reply = "451 4.3.0 try again later"  # the server is up and refuses this message
    assert drain(now).retried == 1
    assert drain(now + timedelta(hours=2)).failed == 1
    assert drain(now + timedelta(hours=4)).total == 0
    msg = session.scalar(select(OutboxMessage))
    session.refresh(msg)
    assert msg.status == "failed" and "451" in (msg.last_error or "")
    assert outbox_admin.outbox_counts(session, admin)["failed"] == 1
    with pytest.raises(PermissionDenied):
        outbox_admin.retry_message(session, officer, msg.id)
    outbox_admin.retry_message(session, admin, msg.id, now=now + timedelta(hours=4))
    session.commit()
    with pytest.raises(Conflict):
        outbox_admin.retry_message(session, admin, msg.id)
    smtp.inbox.reply = "250 OK"
    assert drain(now + timedelta(hours=4)).sent == 1
    assert len(smtp.messages) == 1


def test_a_mail_server_down_all_night_loses_no_message(session, smtp, monkeypatch):
    """A refused connection is the server's fault, not the message's: however many tries the
    outage takes, nothing is failed; tries come at most an hour apart, the admin overview counts
    the waiting messages as late, and when the server is back each is sent exactly once."""
    monkeypatch.setattr(get_settings(), "outbox_max_attempts", 3)
    admin = make_user(session, "admin")
    now = utcnow()
    outbox.enqueue_many(session, [_mail(f"n{i}", f"n{i}@example.com") for i in range(3)], now=now)
    session.commit()
    smtp.stop()
    for minutes in range(0, 14 * 60, 20):  # every 20 minutes for 14 hours
        rep = drain(now + timedelta(minutes=minutes))
        assert rep.failed == 0 and rep.sent == 0
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert {r.status for r in rows} == {"pending"}
    assert max(r.attempts for r in rows) > 3  # past the limit, still waiting
    assert all(r.next_attempt_at <= now + timedelta(hours=15) for r in rows)
    assert all("SMTP connection" in (r.last_error or "") for r in rows if r.attempts)
    assert outbox_admin.outbox_health(session, admin, now=now + timedelta(hours=14)).late == 3
    smtp.start()
    assert drain(now + timedelta(hours=15)).sent == 3
    assert drain(now + timedelta(hours=17)).total == 0
    assert sorted(m["To"] for m in smtp.messages) == [f"n{i}@example.com" for i in range(3)]
    assert _status(session) == {"sent": 3}


def test_a_robot_answering_500_all_night_loses_no_message(session, robot, monkeypatch):
    monkeypatch.setattr(get_settings(), "outbox_max_attempts", 2)
    dept = make_department(session, webhook_kind="wecom", webhook_url=robot.url + "/wecom")
    now = utcnow()
    outbox.enqueue(session, now=now, **_robot_message(session, dept, "o1"))
    session.commit()
    robot.status = 503
    for hours in range(0, 10):
        assert drain(now + timedelta(hours=hours)).failed == 0
    robot.status = 200
    assert drain(now + timedelta(hours=11)).sent == 1
    assert _status(session) == {"sent": 1}


def test_a_restart_between_writing_and_sending_loses_nothing_and_doubles_nothing(session, smtp):
    now = utcnow()
    outbox.enqueue_many(session, [_mail(f"r{i}", f"r{i}@example.com") for i in range(4)], now=now)
    session.commit()
    # a sender claims two and dies before sending (the claim was committed)
    with session_scope() as s:
        dead = outbox.claim_due(s, now, limit=2)
    assert len(dead) == 2
    # the restarted process drains: the two unclaimed go now, the dead claim waits its lease
    assert drain(now + timedelta(seconds=1)).sent == 2
    lease = get_settings().outbox_lease_seconds
    assert drain(now + timedelta(seconds=lease - 1)).total == 0
    assert drain(now + timedelta(seconds=lease + 1)).sent == 2
    assert drain(now + timedelta(seconds=lease * 3)).total == 0
    assert sorted(m["To"] for m in smtp.messages) == [f"r{i}@example.com" for i in range(4)]


def test_a_late_marker_cannot_overwrite_a_newer_claim(session):
    now = utcnow()
    outbox.enqueue(session, now=now, **_mail("late"))
    session.commit()
    old = outbox.claim_due(session, now)[0]
    session.commit()
    lease = get_settings().outbox_lease_seconds
    new = outbox.claim_due(session, now + timedelta(seconds=lease + 1))[0]
    session.commit()
    outbox.mark_failed(session, old, "late failure", now=now)
    session.commit()
    assert _status(session) == {"sending": 1}
    outbox.mark_sent(session, new)
    session.commit()
    assert _status(session) == {"sent": 1}


def test_dingtalk_signature():
    url = dingtalk_signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=x", "SEC", timestamp_ms=1700000000000
    )
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    expected = base64.b64encode(
        hmac.new(b"SEC", b"1700000000000\nSEC", hashlib.sha256).digest()
    ).decode()
    assert q["timestamp"] == ["1700000000000"] and q["sign"] == [expected]
    assert q["access_token"] == ["x"]


def _robot_message(session, dept, key: str):
    return {
        "dedup_key": key,
        "kind": "daily_reminder",
        "channel": dept.webhook_kind,
        "recipient": f"department:{dept.id}",
        "department_id": dept.id,
        "subject": "标题",
        "body_text": "### 今日跟进提醒",
    }


def test_robot_webhooks_over_http_with_failures_retried(session, robot):
    ding = make_department(
        session,
        webhook_kind="dingtalk",
        webhook_url=robot.url + "/ding?access_token=t",
        webhook_secret="SEC",
    )
    wecom = make_department(session, webhook_kind="wecom", webhook_url=robot.url + "/wecom")
    now = utcnow()
    outbox.enqueue_many(
        session,
        [_robot_message(session, ding, "w1"), _robot_message(session, wecom, "w2")],
        now=now,
    )
    session.commit()
    robot.status = 500
    assert drain(now).retried == 2
    robot.status, robot.reply = 200, {"errcode": -1, "errmsg": "system busy"}
    assert drain(now + timedelta(hours=1)).retried == 2
    robot.reply = {"errcode": 0, "errmsg": "ok"}
    assert drain(now + timedelta(hours=2)).sent == 2
    assert drain(now + timedelta(hours=3)).total == 0
    last = robot.requests[-2:]
    by_path = {r["path"].split("?")[0]: r for r in last}
    assert by_path["/ding"]["json"] == {
        "msgtype": "markdown",
        "markdown": {"title": "标题", "text": "### 今日跟进提醒"},
    }
    assert "sign=" in by_path["/ding"]["path"] and "timestamp=" in by_path["/ding"]["path"]
    assert by_path["/wecom"]["json"] == {
        "msgtype": "markdown",
        "markdown": {"content": "### 今日跟进提醒"},
    }
    assert _status(session) == {"sent": 2}


def test_unreachable_webhook_is_retried_like_smtp(session, monkeypatch):
    from tests.servers import free_port

    monkeypatch.setattr(get_settings(), "webhook_timeout", 1.0)
    dept = make_department(
        session, webhook_kind="wecom", webhook_url=f"http://127.0.0.1:{free_port()}/x"
    )
    outbox.enqueue(session, **_robot_message(session, dept, "u1"))
    session.commit()
    rep = drain()
    assert rep.retried == 1 and "wecom webhook failed" in rep.errors[0]


def test_a_final_refusal_fails_at_once_with_its_reason(session, robot):
    dept = make_department(session, webhook_kind="wecom", webhook_url=robot.url + "/wecom")
    outbox.enqueue(session, **_robot_message(session, dept, "p1"))
    session.commit()
    robot.reply = {"errcode": 93000, "errmsg": "invalid webhook url"}
    rep = drain()
    assert (rep.failed, rep.retried) == (1, 0)
    msg = session.scalar(select(OutboxMessage))
    session.refresh(msg)
    assert msg.status == "failed" and msg.attempts == 1 and "93000" in (msg.last_error or "")


def test_a_message_over_its_channels_size_is_written_in_numbered_parts(session):
    from crm.outbox.limits import size, split_text

    text = "".join(f"- 项目{i:03d} 某某电子科技有限公司 停滞 45 天\n" for i in range(300))
    pieces = split_text(text, 4000)
    assert "".join(pieces) == text and all(size(p) <= 4000 for p in pieces)
    assert split_text("中" * 3000, 4000) == ["中" * 1333, "中" * 1333, "中" * 334]
    dept = make_department(session, webhook_kind="wecom", webhook_url="http://127.0.0.1:9/x")
    m = {**_robot_message(session, dept, "long"), "body_text": text}
    assert outbox.enqueue(session, **m) is True
    assert outbox.enqueue(session, **m) is False  # the first part carries the message's key
    session.commit()
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    n = len(rows)
    assert n > 1 and all(size(r.body_text) <= 4096 for r in rows)
    assert [r.dedup_key for r in rows] == ["long"] + [f"long#{k}" for k in range(2, n + 1)]
    assert [r.subject for r in rows] == [f"标题 ({k}/{n})" for k in range(1, n + 1)]
    assert rows[0].body_text.startswith(f"**(1/{n})**")


def test_when_messages_start_failing_an_admin_and_the_robots_manager_get_one_message(
    session, smtp, robot
):
    admin = make_user(session, "admin", email="admin@example.com")
    d = make_department(session, webhook_kind="wecom", webhook_url=robot.url + "/wecom")
    make_user(session, "manager", d, email="boss@example.com")
    make_user(session, "manager", make_department(session), email="other@example.com")
    now = utcnow()
    outbox.enqueue_many(
        session, [_robot_message(session, d, "r1"), _robot_message(session, d, "r2")], now=now
    )
    session.commit()
    robot.reply = {"errcode": 93000, "errmsg": "invalid webhook url"}
    assert drain(now).failed == 2
    assert drain(now).sent == 2  # the alerts
    assert sorted(m["To"] for m in smtp.messages) == ["admin@example.com", "boss@example.com"]
    (m,) = smtp.inbox.to("admin@example.com")
    assert "/admin/outbox?status=failed" in body_text(m) and "93000" in body_text(m)
    # more failures the same day: no second alert
    outbox.enqueue(session, now=now, **_robot_message(session, d, "r3"))
    session.commit()
    assert drain(now).failed == 1
    assert drain(now).total == 0 and len(smtp.messages) == 2
    assert admin.id


def test_the_date_header_is_in_the_configured_zone(session, smtp):
    outbox.enqueue(session, **_mail("date"))
    session.commit()
    drain()
    (m,) = smtp.messages
    assert m["Date"].endswith("+0800")  # Asia/Shanghai, not "-0000" (zone unknown)
