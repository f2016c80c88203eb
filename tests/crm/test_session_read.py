"""The signed-in session's read (``crm.accounts.sessions.check_web_session``), done on the
driver's cursor rather than through the ORM: the user it gives is the session's own row — its
values converted as the ORM converts them, a change to it saved on commit — and an ended,
idle, too old or deactivated session gives nobody."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select, update
from sqlmodel import Session

from crm.accounts.sessions import check_web_session, start_web_session
from crm.config import get_settings
from crm.db import cache_version, get_engine
from crm.models.accounts import User, WebSession
from tests.factories import make_department, make_user


def _fresh() -> Session:
    return Session(get_engine(), expire_on_commit=False)


def test_the_user_is_the_sessions_own_row(session) -> None:
    user = make_user(session, "manager", make_department(session), language="en")
    sid = start_web_session(session, user, "10.0.0.1", "test")
    session.commit()
    with _fresh() as s:
        found, touch = check_web_session(s, sid)
        assert found is not None and not touch
        loaded = s.execute(select(User).where(User.id == user.id)).scalar_one()
        assert found is loaded  # the identity map's instance: no second copy
        assert (found.username, found.role, found.department_id, found.language) == (
            user.username,
            "manager",
            user.department_id,
            "en",
        )
        assert found.is_active is True and found.version == user.version
        assert found.created_at.tzinfo is UTC and found.created_at == user.created_at
        assert not s.dirty and not s.new
        found.display_name = "改名"
        s.commit()
    session.expire_all()
    assert session.get(User, user.id).display_name == "改名"  # type: ignore[union-attr]


def test_a_session_that_ended_idled_or_whose_user_left_gives_nobody(session) -> None:
    user = make_user(session, "officer")
    sid = start_web_session(session, user, None, None)
    session.commit()
    with _fresh() as s:
        assert check_web_session(s, "no-such-session") == (None, False)
        assert check_web_session(s, "x" * 65) == (None, False)
    # last seen over a minute ago: still live, its stamp due
    session.execute(
        update(WebSession)
        .where(WebSession.id == sid)
        .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=2))
    )
    session.commit()
    with _fresh() as s:
        found, touch = check_web_session(s, sid)
        assert found is not None and touch
    # idle too long: ended, written when the reading transaction commits
    idle = get_settings().session_idle_minutes
    session.execute(
        update(WebSession)
        .where(WebSession.id == sid)
        .values(last_seen_at=datetime.now(UTC) - timedelta(minutes=idle + 1))
    )
    session.commit()
    with _fresh() as s:
        assert check_web_session(s, sid) == (None, False)
        s.commit()
    session.expire_all()
    assert session.get(WebSession, sid).ended_at is not None  # type: ignore[union-attr]
    # a live session of a deactivated user
    sid2 = start_web_session(session, user, None, None)
    session.execute(update(User).where(User.id == user.id).values(is_active=False))
    session.commit()
    with _fresh() as s:
        assert check_web_session(s, sid2) == (None, False)


def test_the_caches_versions_come_with_the_session_read(session) -> None:
    """The per-process caches' versions (``cache_version``) are read with the signed-in
    session, in its one statement, on SQLite and PostgreSQL alike, and give what reading them
    alone gives; a change made since shows in the next request's."""
    user = make_user(session, "officer", make_department(session))
    sid = start_web_session(session, user, None, None)
    session.commit()
    with _fresh() as alone:
        expected = {name: cache_version(alone, name) for name in ("users", "plan", "countries")}
    sent: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(get_engine(), "before_cursor_execute", keep)
    try:
        with _fresh() as s:
            assert check_web_session(s, sid)[0] is not None
            assert {name: cache_version(s, name) for name in expected} == expected
        assert sent == []  # nothing but the session's own read (on the driver's cursor)

        session.execute(update(User).where(User.id == user.id).values(display_name="改名"))
        session.commit()
        with _fresh() as s:
            assert check_web_session(s, sid)[0] is not None
            assert cache_version(s, "users") != expected["users"]
            assert cache_version(s, "plan") == expected["plan"]
    finally:
        event.remove(get_engine(), "before_cursor_execute", keep)
