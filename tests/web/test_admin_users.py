"""The admin page's "add a user" form: an officer or manager needs a department: refused beside
the field, the form kept, nothing saved (ATTACK9 P3-8)."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.models.accounts import User
from tests.factories import make_department, make_user
from tests.web.conftest import log_in


def test_an_officer_or_manager_without_a_department_is_refused_beside_the_field(client, session):
    admin = make_user(session, "admin")
    dep = make_department(session)
    session.commit()
    token = log_in(client, admin)
    users = session.scalar(select(func.count()).select_from(User))
    base = {"username": "newbie", "password": "Very-Long-Passphrase-9", "csrf_token": token}
    for role, department in (("officer", ""), ("manager", "")):
        r = client.post(
            "/admin/users",
            data={**base, "role": role, "department_id": department},
            follow_redirects=False,
        )
        assert r.status_code in (200, 422), (role, department, r.status_code)
        field = r.text.split('id="new-dep"', 1)[1].split("</div>", 1)[0]
        assert 'class="error"' in field, (role, department, field)
        assert 'value="newbie"' in r.text  # the form kept
    assert session.scalar(select(func.count()).select_from(User)) == users
    r = client.post(
        "/admin/users",
        data={**base, "role": "officer", "department_id": str(dep.id)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert session.scalar(select(User.department_id).where(User.username == "newbie")) == dep.id
