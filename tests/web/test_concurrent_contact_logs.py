"""Many officers logging contacts at once, through the firm page's HTMX form, on two real web
processes sharing one database (the test's SQLite file, or PostgreSQL with
CRM_TEST_DATABASE_URL): every contact is saved exactly once, with its links, its audit row and
its project's last contact — no error, none lost, none doubled.

The form writes in a short transaction of its own (``web.visit.ShortWriteVisit``): on SQLite
the writers queue for the database's one write lock, on PostgreSQL for the project's row."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from bench.capacity import Browser
from bench.server import serve
from crm.db import get_engine
from crm.models.activities import Activity, ActivityFirm, ActivityProject
from crm.models.audit import AuditRecord
from crm.models.projects import Project
from tests.factories import PASSWORD, make_department, make_firm, make_project, make_user

CLIENTS = 8
EACH = 6


def test_concurrent_contact_logs_land_exactly_once(session, tmp_path: Path) -> None:
    dept = make_department(session)
    officers = [make_user(session, "officer", dept) for _ in range(CLIENTS)]
    firm = make_firm(session, "并发接触企业")
    project = make_project(session, firm, "NB", owner=officers[0])
    session.commit()
    url = get_engine().url.render_as_string(hide_password=False)
    answers: list[tuple[str, int, bytes]] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    with serve(url, tmp_path, workers=2) as server:
        browsers = []
        for officer in officers:
            b = Browser(server.base)
            b.login(officer.username, PASSWORD)
            browsers.append(b)

        def officer_logs(i: int, b: Browser) -> None:
            start.wait()
            for n in range(EACH):
                summary = f"并发接触 {i}-{n}"
                status, body = b.request(
                    "POST",
                    f"/firms/{firm.id}/activities",
                    {"kind": "call", "summary": summary, "project_id": str(project.id)},
                    htmx=True,
                )
                with lock:
                    answers.append((summary, status, body))

        threads = [
            threading.Thread(target=officer_logs, args=(i, b)) for i, b in enumerate(browsers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        for b in browsers:
            b.close()

    assert len(answers) == CLIENTS * EACH
    for summary, status, body in answers:
        assert status == 200, (summary, status, body[:300])
        assert summary in body.decode()  # the answer shows the new entry
    session.expire_all()
    rows = session.execute(select(Activity.id, Activity.summary)).all()
    counted = Counter(summary for _, summary in rows)
    assert counted == Counter(summary for summary, _, _ in answers)  # each exactly once
    ids = [i for i, _ in rows]
    links = session.scalar(
        select(func.count()).select_from(ActivityFirm).where(ActivityFirm.firm_id == firm.id)
    )
    assert links == len(ids)
    on_project = session.scalars(
        select(ActivityProject.activity_id).where(ActivityProject.project_id == project.id)
    ).all()
    assert sorted(on_project) == sorted(ids)
    audited = session.scalars(
        select(AuditRecord.entity_id).where(
            AuditRecord.entity == "activity", AuditRecord.action == "create"
        )
    ).all()
    assert sorted(audited) == sorted(str(i) for i in ids)
    latest = session.scalar(select(func.max(Activity.occurred_at)))
    last = session.scalar(select(Project.last_activity_at).where(Project.id == project.id))
    assert last == latest
