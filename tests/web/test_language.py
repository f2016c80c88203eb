"""The language choice: picked on the login page and kept, switched in the header and saved on
the user; one language per page."""

from __future__ import annotations

from crm.models.accounts import User
from tests.factories import PASSWORD, make_department, make_user


def _login(client, user):
    client.get("/login")
    token = client.cookies["csrftoken"]
    r = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    return client.cookies.get("csrftoken") or token


def test_the_login_pages_choice_is_kept_and_saved(client, session):
    user = make_user(session, "officer", make_department(session))
    session.commit()
    client.get("/lang/en?next=/login")
    assert "Log in" in client.get("/login").text
    _login(client, user)
    page = client.get("/").text
    assert "My day" in page and "我的一天" not in page
    session.expire_all()
    assert session.get(User, user.id).language == "en"


def test_the_header_switch_is_saved_on_the_user(client, session):
    user = make_user(session, "officer", make_department(session))
    session.commit()
    token = _login(client, user)
    assert "我的一天" in client.get("/").text
    r = client.post(
        "/lang", data={"code": "en", "next": "/firms", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/firms"
    session.expire_all()
    assert session.get(User, user.id).language == "en"
    # another browser: the saved choice, not the default
    client.cookies.clear()
    _login(client, user)
    assert "My day" in client.get("/").text


def test_a_previous_users_cookie_is_not_a_choice(client, session):
    dep = make_department(session)
    first = make_user(session, "officer", dep, username="first01")
    second = make_user(session, "officer", dep, username="second01")
    first.language = "en"
    session.add(first)
    session.commit()
    token = _login(client, first)
    assert "My day" in client.get("/").text
    client.post("/logout", data={"csrf_token": token})
    _login(client, second)
    assert "我的一天" in client.get("/").text
    session.expire_all()
    assert session.get(User, second.id).language == "zh_CN"
