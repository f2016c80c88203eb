"""The world the security tests run against: two departments, one confidential project.

Department A owns a confidential project (with an activity and a follow-up tied to it); an
officer of department B must not learn it exists. Every text that belongs to the confidential
project carries the ASCII marker ``SECRET`` so a leak shows in any response (HTML, JSON, CSV,
iCalendar, spreadsheets) whatever its encoding.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from crm.accounts.service import issue_api_token
from crm.activities.schemas import ActivityCreate, InlineFollowup
from crm.activities.service import log_activity
from crm.models.accounts import User
from crm.models.activities import Activity, ActivityFirm, ActivityProject
from crm.models.firms import Contact
from crm.projects.schemas import ProjectCreate
from crm.projects.service import create_project
from crm.types import utcnow
from tests.factories import (
    PASSWORD,
    make_department,
    make_firm,
    make_followup,
    make_project,
    make_user,
)

MARKER = "SECRET"
ROLES = ("anon", "other", "own", "manager", "admin")


@dataclass
class World:
    """Ids of the records path parameters are filled with (see access_table.PARAMS)."""

    dept_a: int
    dept_b: int
    users: dict[str, User]  # role → user (no entry for anon)
    firm: int
    contact: int
    project: int  # confidential, department A, owned by the "own" officer
    open_project: int  # not confidential, department A
    activity: int  # tied to the confidential project
    followup: int  # tied to the confidential project, assigned to the "own" officer
    firm_name: str
    project_title: str
    extra: dict[str, object] = field(default_factory=dict)

    def attr(self, name: str) -> object:
        if name in self.extra:
            return self.extra[name]
        if name.startswith("user:"):
            return self.users[name.split(":", 1)[1]].id
        return getattr(self, name)


def build_world(session: Session) -> World:
    dept_a = make_department(session, name="甲招商局", code="DA")
    dept_b = make_department(session, name="乙招商局", code="DB")
    users = {
        "own": make_user(session, "officer", dept_a, username="own_officer"),
        "other": make_user(session, "officer", dept_b, username="other_officer"),
        "manager": make_user(session, "manager", dept_b, username="the_manager"),
        "admin": make_user(session, "admin", None, username="the_admin"),
    }
    firm = make_firm(session, "安全测试企业", clusters=("NB",))
    contact = Contact(firm_id=firm.id, name="联系人甲")
    session.add(contact)
    session.flush()
    title = f"{MARKER}-PROJECT 绝密扩产项目"
    project = make_project(
        session,
        firm,
        "NB",
        "negotiating",
        owner=users["own"],
        title=title,
        is_confidential=True,
        code_name=f"{MARKER}-CODE 代号甲",
        notes=f"{MARKER}-NOTES 保密备注",
        output="12.5",
    )
    open_project = make_project(
        session, firm, "NEV", "lead", owner=users["own"], title="公开项目", output="1"
    )
    act = Activity(
        kind="visit",
        occurred_at=utcnow() - timedelta(days=1),
        summary=f"{MARKER}-ACTIVITY 机密洽谈",
        created_by_id=users["own"].id,
        department_id=dept_a.id,
    )
    session.add(act)
    session.flush()
    session.add(ActivityFirm(activity_id=act.id, firm_id=firm.id))
    session.add(ActivityProject(activity_id=act.id, project_id=project.id))
    fu = make_followup(
        session,
        users["own"],
        due_in=timedelta(hours=2),
        title=f"{MARKER}-FOLLOWUP 机密回访",
        project_id=project.id,
        firm_id=firm.id,
    )
    # a delegated activity (logged by the owner with a colleague) that names the confidential
    # project, with an inline follow-up on the firm only (no project_id): hidden with it
    inline = log_activity(
        session,
        users["own"],
        ActivityCreate(
            kind="meeting",
            summary=f"{MARKER}-DELEGATED 机密会谈",
            firm_ids=[firm.id],
            project_ids=[project.id, open_project.id],
            officer_ids=[users["own"].id],
            followup=InlineFollowup(
                title=f"{MARKER}-INLINE 机密跟进",
                due_at=utcnow() + timedelta(hours=3),
                remind_at=utcnow() + timedelta(hours=1),
            ),
        ),
    )
    # department B reports the same firm and cluster later: a conflict (撞单) with the
    # confidential project the other officer may not see
    conflicting = create_project(
        session,
        users["other"],
        ProjectCreate(firm_id=firm.id, cluster="NB", title="乙方项目"),
    )
    session.commit()
    return World(
        dept_a=dept_a.id,
        dept_b=dept_b.id,
        users=users,
        firm=firm.id,
        contact=contact.id,
        project=project.id,
        open_project=open_project.id,
        activity=act.id,
        followup=fu.id,
        firm_name=firm.name_zh,
        project_title=title,
        extra={
            "delegated_activity": inline.activity.id,
            "inline_followup": inline.followup.id if inline.followup else None,
            "conflicting_project": conflicting.id,
        },
    )


def client_for(app, session: Session, world: World, role: str) -> TestClient:  # type: ignore[no-untyped-def]
    """A client logged in as ``role`` (pages by cookie, the API by a bearer token)."""
    c = TestClient(app, raise_server_exceptions=False)
    c.get("/login")  # the CSRF cookie
    if role == "anon":
        return c
    user = world.users[role]
    r = c.post(
        "/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "csrf_token": c.cookies["csrftoken"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, (role, r.status_code, r.text[:300])
    token, _ = issue_api_token(session, session.get(User, user.id))
    session.commit()
    c.headers["X-Test-Bearer"] = token  # moved into Authorization for /api/ paths only
    return c


def response_text(content: bytes, content_type: str) -> str:
    """Whatever a response carries, as text to search for the marker."""
    ctype = content_type.lower()
    if "spreadsheet" in ctype or content[:2] == b"PK":
        try:
            from python_calamine import CalamineWorkbook

            wb = CalamineWorkbook.from_filelike(io.BytesIO(content))
            cells = []
            for name in wb.sheet_names:
                for row in wb.get_sheet_by_name(name).to_python():
                    cells.extend(str(c) for c in row)
            return "\n".join(cells)
        except Exception:  # not a workbook after all
            pass
    if "pdf" in ctype or content[:4] == b"%PDF":
        parts = [content.decode("latin-1")]
        for chunk in content.split(b"stream")[1:]:
            body = chunk.split(b"endstream")[0].strip(b"\r\n")
            try:
                parts.append(zlib.decompress(body).decode("latin-1"))
            except zlib.error:
                continue
        return "\n".join(parts)
    return content.decode("utf-8", "replace")
