"""The lists a web process keeps between requests (the users of the pickers, the plan's
clusters, the firms' countries) ask the database nothing of their own on a page: their versions
come with the signed-in session's read. A change another process makes through the services
shows on the very next page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from tests.factories import make_department, make_firm, make_user
from tests.web.test_firms import statements

ROOT = Path(__file__).resolve().parents[2]

# another process: the services, as an admin's edits in another web process would run them
OTHER_PROCESS = """
import sys
from sqlalchemy import text
from crm.accounts.service import update_user
from crm.db import session_scope
from crm.firms.schemas import FirmUpdate
from crm.firms.service import update_firm
from crm.models.accounts import User
from crm.models.firms import Firm

firm_id, user_id, admin_id = map(int, sys.argv[1:4])
with session_scope() as s:
    admin, user, firm = s.get(User, admin_id), s.get(User, user_id), s.get(Firm, firm_id)
    update_user(s, admin, user_id, display_name="李新名", version=user.version)
    update_firm(s, admin, firm_id, FirmUpdate(country="新西兰", version=firm.version))
    s.execute(text("UPDATE cluster SET name_zh = '新的集群名' WHERE code = 'NB'"))
"""


def test_the_firm_list_reads_no_version_and_shows_another_process_change(
    client, login, session
) -> None:
    dept = make_department(session, name="两江新区招商局")
    admin = make_user(session, "admin")
    officer = make_user(session, "officer", dept, display_name="王招商")
    colleague = make_user(session, "officer", dept, display_name="李同事")
    firm = make_firm(session, "惠普", country="美国", owner_id=officer.id, clusters=("NB",))
    session.commit()
    nb_name = session.scalar(text("SELECT name_zh FROM cluster WHERE code = 'NB'"))
    login(officer)
    html = client.get("/firms").text
    assert '<option value="美国" >美国</option>' in html and ">李同事</option>" in html
    assert f">{nb_name}</option>" in html
    with statements() as seen:
        assert client.get("/firms").status_code == 200
    # the page's own statements only: no version check, no users or countries read again
    assert not [s for s in seen if "cache_version" in s or "user_account" in s], seen
    assert not [s for s in seen if "RECURSIVE" in s or "policy_pack" in s], seen
    try:
        subprocess.run(
            [sys.executable, "-c", OTHER_PROCESS, str(firm.id), str(colleague.id), str(admin.id)],
            cwd=ROOT,
            env=os.environ.copy(),
            check=True,
            timeout=120,
        )
        html = client.get("/firms").text
        assert '<option value="新西兰" >新西兰</option>' in html and "美国" not in html
        assert ">李新名</option>" in html and "李同事" not in html
        assert ">新的集群名</option>" in html
    finally:
        session.execute(text("UPDATE cluster SET name_zh = :n WHERE code = 'NB'"), {"n": nb_name})
        session.commit()
