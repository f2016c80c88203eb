"""The merge page opens only on a firm its reader may merge, and a merge sent without the
second firm comes back to the picker with the reason (not an empty 422)."""

from __future__ import annotations

from tests.factories import make_department, make_firm, make_user


def test_merge_page_only_for_who_may_merge_the_firm(session, client, login):
    a, b = make_department(session), make_department(session)
    officer_a = make_user(session, "officer", a)
    manager_a, manager_b = make_user(session, "manager", a), make_user(session, "manager", b)
    firm = make_firm(session, "甲方企业", owner_id=officer_a.id)
    session.commit()
    login(manager_b)
    assert client.get(f"/firms/{firm.id}/merge").status_code == 403
    login(manager_a)
    assert client.get(f"/firms/{firm.id}/merge").status_code == 200
    r = client.post(f"/firms/{firm.id}/merge", data={"keep": "this"} | login.csrf)
    assert r.status_code == 422
    assert "请先选择要合并的另一家企业" in r.text
