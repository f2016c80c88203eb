"""ATTACK7's small findings on the pages: an upload over the size limit (P3-2), a login name in
another case (P3-5), the language link while signed in (P3-6)."""

from __future__ import annotations

from sqlmodel import select

from crm.config import get_settings
from crm.models.accounts import LoginAttempt, User
from tests.factories import PASSWORD, make_department, make_user


def test_an_upload_over_the_limit_is_named_beside_the_file_field(client, login, session):
    """413 for the import form's HTMX request is the form's error block (swapped like a refused
    form: X-CRM-Swap) naming the limit in the reader's language — not a bare "HTTP 413" toast;
    the page's file field carries the limit so the browser refuses before sending."""
    d = make_department(session)
    manager = make_user(session, "manager", d)
    session.commit()
    login(manager)
    page = client.get("/imports")
    limit = min(10 * 1024 * 1024, get_settings().max_body_bytes)
    assert f'data-max-bytes="{limit}"' in page.text
    assert "文件过大（上限 10 MB）" in page.text
    big = b"x" * (get_settings().max_body_bytes + 1)
    files = {"file": ("big.xlsx", big, "application/octet-stream")}
    r = client.post("/imports", data={"kind": "firms"}, files=files, headers=login.htmx)
    assert r.status_code == 413
    assert r.headers.get("x-crm-swap") == "1"
    assert 'role="alert" data-field="file"' in r.text
    assert "文件过大（上限 10 MB）" in r.text
    for c in list(client.cookies.jar):
        if c.name == "lang":
            client.cookies.jar.clear(c.domain, c.path, c.name)
    client.cookies.set("lang", "en")
    r = client.post("/imports", data={"kind": "firms"}, files=files, headers=login.htmx)
    assert r.status_code == 413 and "File too large (limit 10 MB)" in r.text
    # the API (and a request that is not a page's HTMX one) keeps JSON, naming the limit too
    r = client.post("/api/v1/auth/token", content=big, headers={"content-type": "text/plain"})
    assert r.status_code == 413
    assert r.json()["error"] == "too_large" and "10 MB" in r.json()["message"]


def test_a_login_name_in_another_case_signs_in(client, session):
    """Names are unique whatever their case: OFFICER008 is officer008 (was 401, a failure)."""
    d = make_department(session)
    make_user(session, "officer", d, username="officer008")
    session.commit()
    client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": "OFFICER008",
            "password": PASSWORD,
            "csrf_token": client.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    session.expire_all()
    user = session.exec(select(User).where(User.username == "officer008")).one()
    assert user.failed_logins == 0
    assert not session.exec(select(LoginAttempt).where(LoginAttempt.success.is_(False))).all()
    client.get("/login")
    r = client.post(
        "/login",
        data={
            "username": "OFFICER008",
            "password": "wrong",
            "csrf_token": client.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
    assert r.status_code in (401, 422)
    session.expire_all()
    assert session.get(User, user.id).failed_logins == 1


def test_the_language_link_while_signed_in_changes_nothing(client, login, session):
    """Signed in, the language is the account's: ``GET /lang/en`` (the login page's link) used to
    turn the pages English while the account (its e-mails, the account page) stayed Chinese.
    Now only the header's switch (POST, saved) changes it."""
    d = make_department(session)
    user = make_user(session, "officer", d)
    session.commit()
    login(user)
    r = client.get("/lang/en?next=/account", follow_redirects=False)
    assert r.status_code == 303
    assert "lang=en" not in r.headers.get("set-cookie", "")
    page = client.get("/account")
    assert 'lang="zh' in page.text
    session.expire_all()
    assert session.get(User, user.id).language == "zh_CN"
    # the header's switch saves it on the account
    r = client.post("/lang", data={"code": "en", "next": "/account"} | login.csrf)
    session.expire_all()
    assert session.get(User, user.id).language == "en"
    # signed out, the login page's link still works
    client.post("/logout", data=login.csrf)
    client.cookies.clear()
    r = client.get("/lang/en?next=/login", follow_redirects=False)
    assert "lang=en" in r.headers.get("set-cookie", "")
