"""Accounts: password policy, lockout and its release, admin unlock, password change, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from crm.accounts import service as accounts
from crm.accounts.passwords import check_policy
from crm.accounts.users import update_user
from crm.config import get_settings
from crm.db import get_engine
from crm.errors import AuthFailed, Conflict, Locked, PermissionDenied, ValidationFailed
from crm.models.accounts import ApiToken, LoginAttempt, User, WebSession
from crm.models.audit import AuditRecord
from crm.models.firms import Firm
from tests.factories import PASSWORD, make_department, make_firm, make_user
from tests.security.conftest import login

MAX = get_settings().login_max_failures


@pytest.mark.parametrize(
    "bad", ["short1!", "zhangsan-2024-x", "password123", "aaaaaaaaaaaa", "          x"]
)
def test_password_policy_refuses_weak_passwords(bad):
    with pytest.raises(ValidationFailed) as e:
        check_policy(bad, "zhangsan")
    assert e.value.field == "password"


def test_password_policy_is_applied_when_an_admin_creates_or_resets(session):
    admin = make_user(session, "admin")
    with pytest.raises(ValidationFailed):
        accounts.create_user(session, admin, username="lisi", password="lisi123456789")
    u = make_user(session, "officer")
    with pytest.raises(ValidationFailed):
        accounts.reset_password(session, admin, u.id, "password123")
    accounts.reset_password(session, admin, u.id, "Long-Enough-Passw0rd")


def _fail(session, username, n=1, ip="10.0.0.1"):
    errors = []
    for _ in range(n):
        try:
            accounts.authenticate(session, username, "wrong-password-x", ip)
        except (AuthFailed, Locked) as exc:
            errors.append(exc)
        session.commit()
    return errors


def test_lockout_after_repeated_failures_and_release_by_time(session, clock):
    u = make_user(session, "officer")
    session.commit()
    errors = _fail(session, u.username, MAX)
    assert [type(e) for e in errors] == [AuthFailed] * (MAX - 1) + [Locked]
    # locked: even the right password is refused, with the lockout message
    with pytest.raises(Locked):
        accounts.authenticate(session, u.username, PASSWORD, "10.0.0.1")
    session.commit()
    clock.advance(minutes=get_settings().login_lockout_minutes + 1)
    assert accounts.authenticate(session, u.username, PASSWORD, "10.0.0.2").id == u.id
    session.commit()
    # the count starts afresh after the lock ran out
    assert [type(e) for e in _fail(session, u.username, 1)] == [AuthFailed]


def test_admin_unlock(session):
    admin = make_user(session, "admin")
    u = make_user(session, "officer")
    session.commit()
    _fail(session, u.username, MAX)
    with pytest.raises(PermissionDenied):
        accounts.unlock_user(session, make_user(session, "manager"), u.id)
    accounts.unlock_user(session, admin, u.id)
    session.commit()
    assert accounts.authenticate(session, u.username, PASSWORD).id == u.id
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "unlock"))


def test_unknown_user_is_locked_like_a_real_one(session):
    """Lockout must not reveal which user names exist."""
    real = make_user(session, "officer")
    session.commit()
    for_real = [(type(e), e.message) for e in _fail(session, real.username, MAX + 1)]
    for_ghost = [(type(e), e.message) for e in _fail(session, "no-such-user", MAX + 1)]
    assert for_real == for_ghost


def test_unknown_inactive_and_locked_users_cost_a_password_hash(session, monkeypatch):
    """Timing: every answer about a user name runs one Argon2 verification."""
    import crm.accounts.auth as svc

    calls: list[str] = []
    real_verify, real_dummy = svc.verify_password, svc.verify_dummy
    monkeypatch.setattr(
        svc, "verify_password", lambda h, p: calls.append("verify") or real_verify(h, p)
    )
    monkeypatch.setattr(svc, "verify_dummy", lambda p: calls.append("dummy") or real_dummy(p))
    active = make_user(session, "officer")
    inactive = make_user(session, "officer")
    inactive.is_active = False
    session.commit()
    for name in (active.username, inactive.username, "ghost"):
        calls.clear()
        _fail(session, name, 1)
        assert len(calls) == 1, (name, calls)
    _fail(session, active.username, MAX)  # now locked
    calls.clear()
    _fail(session, active.username, 1)
    assert len(calls) == 1


def test_lockout_per_address(session):
    s = get_settings()
    users = [make_user(session, "officer") for _ in range(2)]
    session.commit()
    n = 0
    while n < s.ip_max_failures:
        for u in users:
            _fail(session, f"{u.username}-typo{n}", 1, ip="10.9.9.9")
            n += 1
    # the address is throttled, whoever it tries; another address is not
    with pytest.raises(Locked):
        accounts.authenticate(session, users[0].username, PASSWORD, "10.9.9.9")
    session.commit()
    assert accounts.authenticate(session, users[0].username, PASSWORD, "10.1.1.1")


def test_web_login_says_the_same_for_unknown_user_wrong_password_and_lockout(client, session):
    u = make_user(session, "officer")
    session.commit()
    wrong = login(client, u.username, "wrong-password-x")
    ghost = login(client, "ghost-user", "wrong-password-x")
    assert wrong.status_code == ghost.status_code == 401
    assert accounts.LOGIN_FAILED.render("zh_CN") in wrong.text
    assert wrong.text.replace(u.username, "X") == ghost.text.replace("ghost-user", "X")
    for _ in range(MAX):
        r = login(client, u.username, "wrong-password-x")
    assert r.status_code == 429
    assert login(client, u.username).status_code == 429  # right password, still locked


def test_change_password_ends_other_sessions_and_tokens(client, app, session):
    from fastapi.testclient import TestClient

    u = make_user(session, "officer", make_department(session))
    session.commit()
    assert login(client, u.username).status_code == 303
    with TestClient(app) as other:
        assert login(other, u.username).status_code == 303
        token, _ = accounts.issue_api_token(session, session.get(User, u.id))
        session.commit()
        r = client.post(
            "/account/password",
            data={
                "old_password": PASSWORD,
                "new_password": "Fresh-Passphrase-88",
                "new_password2": "Fresh-Passphrase-88",
                "csrf_token": client.cookies["csrftoken"],
            },
        )
        assert r.status_code == 200 and 'role="status"' in r.text
        assert client.get("/account", follow_redirects=False).status_code == 200  # still in
        assert other.get("/account", follow_redirects=False).status_code == 303  # ended
        assert other.get(
            "/api/v1/me/password", headers={"Authorization": f"Bearer {token}"}
        ).status_code in (401, 405)
    session.expire_all()
    assert (
        session.scalar(
            select(func.count())
            .select_from(ApiToken)
            .where(ApiToken.user_id == u.id, ApiToken.revoked_at.is_(None))
        )
        == 0
    )
    assert login(client, u.username, "Fresh-Passphrase-88").status_code == 303


def test_change_password_errors_beside_the_field_and_nothing_saved(client, session):
    u = make_user(session, "officer")
    session.commit()
    login(client, u.username)
    before = session.get(User, u.id).password_hash
    for data, field in [
        (
            {
                "old_password": "nope-nope-nope",
                "new_password": "Fresh-Passphrase-88",
                "new_password2": "Fresh-Passphrase-88",
            },
            "old_password",
        ),
        (
            {
                "old_password": PASSWORD,
                "new_password": "password123",
                "new_password2": "password123",
            },
            "new_password",
        ),
        (
            {
                "old_password": PASSWORD,
                "new_password": "Fresh-Passphrase-88",
                "new_password2": "Fresh-Passphrase-89",
            },
            "new_password2",
        ),
    ]:
        r = client.post(
            "/account/password", data={**data, "csrf_token": client.cookies["csrftoken"]}
        )
        assert r.status_code == 422
        assert f'id="{field}-error"' in r.text
    session.expire_all()
    assert session.get(User, u.id).password_hash == before


def test_api_password_change(client, session):
    u = make_user(session, "officer")
    session.commit()
    token, _ = accounts.issue_api_token(session, session.get(User, u.id))
    other, _ = accounts.issue_api_token(session, session.get(User, u.id))
    session.commit()
    h = {"Authorization": f"Bearer {token}"}
    r = client.post(
        "/api/v1/me/password", headers=h, json={"old_password": PASSWORD, "new_password": "short"}
    )
    assert r.status_code == 422 and r.json()["field"] == "new_password"
    r = client.post(
        "/api/v1/me/password",
        headers=h,
        json={"old_password": PASSWORD, "new_password": "Fresh-Passphrase-88"},
    )
    assert r.status_code == 204
    # every token ends, the one that asked too: a password change is the remedy for a leaked
    # token, which may be this very one (ATTACK8 P3-17)
    for t in (token, other):
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {t}"}).status_code == 401
    assert (
        client.post(
            "/api/v1/auth/token", data={"username": u.username, "password": "Fresh-Passphrase-88"}
        ).status_code
        == 200
    )


def test_the_last_admin_cannot_be_demoted_or_deactivated(session):
    admin = make_user(session, "admin")
    session.commit()
    with pytest.raises(Conflict):
        accounts.update_user(session, admin, admin.id, role="manager")
    session.rollback()
    admin = session.get(User, admin.id)
    assert admin.role == "admin"
    with pytest.raises(Conflict):
        accounts.update_user(session, admin, admin.id, is_active=False)


def test_deactivating_a_user_ends_their_sessions(client, session):
    admin = make_user(session, "admin")
    u = make_user(session, "officer")
    session.commit()
    login(client, u.username)
    assert client.get("/account", follow_redirects=False).status_code == 200
    accounts.update_user(session, admin, u.id, is_active=False)
    session.commit()
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert (
        session.scalar(
            select(func.count())
            .select_from(WebSession)
            .where(WebSession.user_id == u.id, WebSession.ended_at.is_(None))
        )
        == 0
    )
    assert login(client, u.username).status_code == 401


def test_every_login_and_failure_is_audited(session):
    u = make_user(session, "officer")
    session.commit()
    _fail(session, u.username, 1)
    accounts.authenticate(session, u.username, PASSWORD)
    session.commit()
    actions = list(
        session.scalars(
            select(AuditRecord.action).where(
                AuditRecord.entity == "user", AuditRecord.entity_id == str(u.id)
            )
        )
    )
    assert "login_failed" in actions and "login" in actions
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 2


def test_audit_rows_cannot_be_changed_or_deleted(session):
    u = make_user(session, "officer")
    session.commit()
    row_id = session.scalar(select(AuditRecord.id))
    assert row_id is not None
    session.commit()  # hold no lock on the table while other connections try it
    for sql in ("UPDATE audit_record SET action = 'x'", "DELETE FROM audit_record"):
        with get_engine().connect() as conn, pytest.raises(DatabaseError) as e:
            conn.execute(text(sql))
        assert "append-only" in str(e.value)
    if get_engine().dialect.name == "postgresql":
        with get_engine().connect() as conn, pytest.raises(DatabaseError):
            conn.execute(text("TRUNCATE audit_record"))
    assert session.get(AuditRecord, row_id).action == "create"
    session.commit()
    assert u.id


def test_the_purge_switch_is_off_outside_the_test_cleanup(session):
    """On PostgreSQL the trigger lets DELETE through only when crm.audit_purge is on."""
    make_user(session, "officer")
    session.commit()
    with get_engine().connect() as conn, pytest.raises(DatabaseError):
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL crm.audit_purge = 'off'"))
        conn.execute(text("DELETE FROM audit_record"))


def test_a_user_keeps_a_department_and_takes_no_work_to_another(session):
    """An officer or manager must have a department (422); moving a user who still holds
    firms, projects or open follow-ups to another department is refused (409, pointing to the
    handover page) and changes nothing; once handed over, the move is allowed."""
    a, b = make_department(session), make_department(session)
    admin = make_user(session, "admin")
    officer = make_user(session, "officer", a)
    firm = make_firm(session, "交接测试企业", owner_id=officer.id)
    session.commit()
    before = session.get(User, officer.id).model_dump()
    with pytest.raises(ValidationFailed) as exc:
        update_user(session, admin, officer.id, department_id=None)
    assert exc.value.field == "department_id"
    session.rollback()
    with pytest.raises(Conflict) as exc:
        update_user(session, admin, officer.id, department_id=b.id)
    assert "handover" in str(exc.value.message)
    session.rollback()
    session.expire_all()
    assert session.get(User, officer.id).model_dump() == before
    session.get(Firm, firm.id).owner_id = None
    session.commit()
    assert update_user(session, admin, officer.id, department_id=b.id).department_id == b.id


def _audit_rows(session, user_id, action):
    return list(
        session.scalars(
            select(AuditRecord).where(
                AuditRecord.entity == "user",
                AuditRecord.entity_id == str(user_id),
                AuditRecord.action == action,
            )
        )
    )


def test_password_and_calendar_token_changes_bump_once_and_audit_no_secret(session):
    """The three go through crm.changes.apply_change: one version bump, one audit row under
    their own action, and neither the password hash nor the calendar token in it."""
    from crm.followups.calendar import renew_calendar_token

    admin = make_user(session, "admin")
    u = make_user(session, "officer")
    session.commit()
    v, sv = u.version, u.session_version

    accounts.change_password(session, u, PASSWORD, "Another-Long-Passw0rd")
    assert (u.version, u.session_version) == (v + 1, sv + 1)
    accounts.reset_password(session, admin, u.id, "Third-Long-Enough-Passw0rd")
    assert (u.version, u.session_version) == (v + 2, sv + 2)
    token = renew_calendar_token(session, u)
    assert u.ical_token == token and u.version == v + 3 and u.session_version == sv + 2
    session.commit()

    secrets = [u.password_hash, token, "password_hash", "ical_token"]
    for action in ("change_password", "reset_password", "renew_calendar_token"):
        (row,) = _audit_rows(session, u.id, action)
        assert row.actor_id == (admin.id if action == "reset_password" else u.id)
        text_ = f"{row.before} {row.after}"
        assert '"version"' in text_
        assert not any(s in text_ for s in secrets), (action, text_)

    # a refused password saves nothing: no bump, no audit row
    with pytest.raises(ValidationFailed):
        accounts.reset_password(session, admin, u.id, "password123")
    assert u.version == v + 3 and len(_audit_rows(session, u.id, "reset_password")) == 1
