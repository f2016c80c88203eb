"""A property-based fuzz run of the whole API from its own OpenAPI document (schemathesis).

Every operation is exercised twice — with an administrator's bearer token and with an officer's
— against a small world (two departments, firms, contacts, projects — one confidential project
of the other department — activities, follow-ups). Generated ids and codes that are valid are
often swapped for ones that exist, so the calls reach past "not found". Every response must be
below 500, match the documented status codes and schemas, and, for the officer, never reveal the
other department's confidential project. The case counts and statuses are written to
test-output/fuzz/<role>-<worker>.json (summed by scripts/fuzz_report.py).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openpyxl import load_workbook
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import update
from sqlmodel import Session

from crm.accounts.service import issue_api_token
from crm.models.activities import Activity, ActivityFirm, ActivityProject
from crm.models.firms import Contact
from crm.models.policy import Cluster, Park
from crm.types import utcnow
from server.app import create_app
from tests.factories import (
    make_department,
    make_firm,
    make_followup,
    make_project,
    make_user,
)

MAX_EXAMPLES = int(os.environ.get("CRM_FUZZ_EXAMPLES", "8"))
MARKER = "FUZZSECRET"
APP = create_app()
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)
CASES: Counter[str] = Counter()
STATUSES: dict[str, Counter[str]] = {}
ID_PARAMS = {
    "firm_id": "firm",
    "contact_id": "contact",
    "project_id": "project",
    "activity_id": "activity",
    "followup_id": "followup",
    "user_id": "user",
    "department_id": "department",
    "cluster_id": "cluster",
    "park_id": "park",
    "owner_id": "user",
    "assignee_id": "user",
    "created_by_id": "user",
    "parent_id": "firm",
    "lead_department_id": "department",
    "firm_ids": "firm",
    "project_ids": "project",
    "contact_ids": "contact",
    "officer_ids": "user",
}


@pytest.fixture
def world(session: Session) -> Iterator[dict[str, Any]]:
    a, b = make_department(session, code="FA"), make_department(session, code="FB")
    admin = make_user(session, "admin")
    officer = make_user(session, "officer", a)
    officer_b = make_user(session, "officer", b)
    manager = make_user(session, "manager", a)
    firms = [make_firm(session, f"模糊测试企业{i}", clusters=("NB",)) for i in range(3)]
    contacts = [Contact(firm_id=f.id, name=f"联系人{i}") for i, f in enumerate(firms)]
    session.add_all(contacts)
    session.flush()
    projects = [
        make_project(session, firms[0], "NB", "negotiating", owner=officer, park_code="LJ"),
        make_project(session, firms[1], "IC", "signed", owner=officer, output="3"),
        make_project(
            session,
            firms[2],
            "NB",
            "lead",
            owner=officer_b,
            is_confidential=True,
            code_name=MARKER,
            title=f"{MARKER} 项目",
            notes=MARKER,
        ),
    ]
    acts = []
    for p in projects:
        act = Activity(
            kind="visit",
            occurred_at=utcnow() - timedelta(days=1),
            summary=f"拜访 {MARKER}" if p.is_confidential else "拜访",
            created_by_id=p.owner_id,
            department_id=p.department_id,
        )
        session.add(act)
        session.flush()
        session.add_all(
            [
                ActivityFirm(activity_id=act.id, firm_id=p.firm_id),
                ActivityProject(activity_id=act.id, project_id=p.id),
            ]
        )
        acts.append(act)
    fus = [
        make_followup(session, officer, due_in=timedelta(hours=3), project_id=projects[0].id),
        make_followup(session, officer_b, title=f"{MARKER} 回访", project_id=projects[2].id),
        make_followup(session, officer, due_in=timedelta(days=-1)),
    ]
    tokens = {
        "admin": issue_api_token(session, admin)[0],
        "officer": issue_api_token(session, officer)[0],
    }
    session.commit()
    yield {
        "tokens": tokens,
        "ids": {
            "firm": [f.id for f in firms],
            "contact": [c.id for c in contacts],
            "project": [p.id for p in projects],
            "activity": [x.id for x in acts],
            "followup": [f.id for f in fus],
            "user": [u.id for u in (admin, officer, officer_b, manager)],
            "department": [a.id, b.id],
            "cluster": list(
                session.scalars(Cluster.__table__.select().with_only_columns(Cluster.id))
            ),
            "park": list(session.scalars(Park.__table__.select().with_only_columns(Park.id))),
        },
        "codes": {
            "cluster": list(
                session.scalars(Cluster.__table__.select().with_only_columns(Cluster.code))
            ),
            "park": list(session.scalars(Park.__table__.select().with_only_columns(Park.code))),
        },
    }
    # the pack's clusters are kept between tests: let go of this world's departments
    session.rollback()
    session.execute(update(Cluster).values(lead_department_id=None))
    session.commit()


def _real_id(value: Any, pool: list[int]) -> Any:
    """A valid generated id becomes an existing one three times in four."""
    if type(value) is int and 1 <= value <= 2**31 - 1 and value % 4 and pool:
        return pool[value % len(pool)]
    return value


def _point_at_world(container: dict[str, Any] | None, world: dict[str, Any]) -> None:
    if not isinstance(container, dict):
        return
    for key, value in list(container.items()):
        if key in ID_PARAMS:
            pool = world["ids"][ID_PARAMS[key]]
            if isinstance(value, list):
                container[key] = [_real_id(v, pool) for v in value]
            else:
                container[key] = _real_id(value, pool)
        elif (
            key in ("cluster", "park")
            and isinstance(value, str)
            and 1 <= len(value) <= 20
            and "\x00" not in value
            and len(value) % 3
        ):
            codes = world["codes"][key]
            container[key] = codes[len(value) % len(codes)]


@pytest.fixture
def exercised(request: pytest.FixtureRequest, output_dir: Path) -> Iterator[None]:
    """Around each operation (schemathesis runs each one as a sub-test with fresh fixtures): it
    was called at least once; the running counts go to test-output/fuzz/<role>-<worker>.json."""
    role = "admin" if "as_admin" in request.node.name else "officer"
    before = sum(n for k, n in CASES.items() if k.startswith(role + " "))
    yield
    after = sum(n for k, n in CASES.items() if k.startswith(role + " "))
    labels = sorted(op.ok().label for op in schema.get_all_operations())
    counts = {label: CASES[f"{role} {label}"] for label in labels}
    statuses: Counter[str] = Counter()
    for label in labels:
        statuses.update(STATUSES.get(f"{role} {label}", {}))
    out = output_dir / "fuzz"
    out.mkdir(exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (out / f"{role}-{worker}.json").write_text(
        json.dumps(
            {
                "role": role,
                "max_examples": MAX_EXAMPLES,
                "operations": len(labels),
                "operations_exercised": sum(1 for n in counts.values() if n),
                "cases": sum(counts.values()),
                "statuses": dict(sorted(statuses.items())),
                "per_operation": counts,
            },
            indent=1,
            ensure_ascii=False,
        )
    )
    assert after > before, f"an operation was never called as {role}"


def _exercise(case: Any, world: dict[str, Any], role: str) -> None:
    _point_at_world(case.path_parameters, world)
    _point_at_world(case.query, world)
    _point_at_world(case.body if isinstance(case.body, dict) else None, world)
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {world['tokens'][role]}"},
        # a schema-valid request may still be refused by a business rule (an unknown code, a
        # missing record, another department's record): 4xx is the right answer there
        excluded_checks=[positive_data_acceptance],
    )
    key = f"{role} {case.operation.label}"
    CASES[key] += 1
    STATUSES.setdefault(key, Counter())[str(response.status_code)] += 1
    if role == "officer":
        assert MARKER not in _readable(response), (
            f"{case.operation.label}: another department's confidential project leaked"
        )


def _readable(response: Any) -> str:
    """The response as text; an exported workbook (a list asked for as .xlsx) is opened and
    every cell read, so the leak check covers exports too."""
    if not response.content.startswith(b"PK"):  # not a zip, so not a workbook
        return str(response.text)
    book = load_workbook(BytesIO(response.content), read_only=True)
    return "\n".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@FUZZ
def test_fuzz_as_admin(case, world, exercised):  # type: ignore[no-untyped-def]
    _exercise(case, world, "admin")


@schema.parametrize()
@FUZZ
def test_fuzz_as_officer(case, world, exercised):  # type: ignore[no-untyped-def]
    _exercise(case, world, "officer")
