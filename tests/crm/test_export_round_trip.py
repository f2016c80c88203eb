"""Move out and back in: demo data → ``crm export`` → import into an emptied database → the
same counts and the same report figures (for what the import takes: firms with aliases,
clusters and parents, contacts, projects)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from crm.dataset_export import export_dir
from crm.demo import generate
from crm.imports.service import run_import
from crm.models import metadata
from crm.models.accounts import User
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.reports.common import ReportFilters
from crm.reports.coverage import coverage_report
from crm.reports.targets import targets_report

FAKE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
KEEP = {"user_account", "department", "audit_record", "alembic_version"}


def counts(session) -> dict[str, int]:
    return {
        "firms": session.scalar(select(func.count()).select_from(Firm)),
        "aliases": session.scalar(select(func.count()).select_from(FirmAlias)),
        "firm_clusters": session.scalar(select(func.count()).select_from(FirmCluster)),
        "subsidiaries": session.scalar(select(func.count()).where(Firm.parent_id.is_not(None))),
        "contacts": session.scalar(select(func.count()).select_from(Contact)),
        "projects": session.scalar(select(func.count()).select_from(Project)),
        "lost": session.scalar(select(func.count()).where(Project.stage == "lost")),
    }


def _no_ids(v):
    """Report figures without the row ids (an import numbers rows anew)."""
    if isinstance(v, dict):
        return {k: _no_ids(x) for k, x in v.items() if k != "id" and not k.endswith("_id")}
    if isinstance(v, list):
        return [_no_ids(x) for x in v]
    return v


def figures(session, admin) -> dict:
    f = ReportFilters(detail=True)
    cov = coverage_report(session, admin, f).model_dump(exclude={"generated_at"})
    tgt = targets_report(session, admin, f).model_dump(exclude={"generated_at"})
    return _no_ids({"coverage": cov, "targets": tgt})


@pytest.fixture
def committed_demo(session):
    generate(session, "small", seed=42, password_hash=FAKE_HASH)
    session.commit()
    yield
    # the demo names clusters' lead departments: let the suite's cleanup remove departments
    session.rollback()
    session.execute(update(Cluster).values(lead_department_id=None))
    session.commit()


def test_demo_exports_and_imports_back(session, tmp_path, committed_demo):
    admin = session.scalar(select(User).where(User.role == "admin"))
    before = counts(session)
    before_fig = figures(session, admin)
    written = export_dir(session, tmp_path)
    assert written["firms"] == before["firms"] and written["contacts"] == before["contacts"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "activities.xlsx",
        "capital.xlsx",
        "contacts.xlsx",
        "departments.xlsx",
        "firms.xlsx",
        "followups.xlsx",
        "policy_pack.yaml",
        "projects.xlsx",
        "stage_history.xlsx",
        "users.xlsx",
    ]
    # the per-kind import takes firms, contacts and projects (the columns only a whole-folder
    # restore reads are left alone) into an instance with the same people and policy pack
    policy = ("cluster", "park", "chain", "plan", "policy")
    for t in reversed(metadata.sorted_tables):
        if t.name not in KEEP and not t.name.startswith(policy):
            session.execute(t.delete())
    session.commit()
    assert counts(session)["firms"] == 0
    for kind in ("firms", "contacts", "projects"):
        data = (tmp_path / f"{kind}.xlsx").read_bytes()
        rep = run_import(session, admin, kind, data, f"{kind}.xlsx")
        assert not rep.rejected, (kind, [(e.row, e.message) for e in rep.rejected[:5]])
    session.commit()
    assert counts(session) == before
    assert figures(session, admin) == before_fig


def test_the_firm_lists_export_imports_back(session, committed_demo):
    from crm.firms.export import export_firms
    from crm.firms.service import FirmFilters

    admin = session.scalar(select(User).where(User.role == "admin"))
    before = counts(session)
    data = export_firms(session, admin, FirmFilters())
    session.commit()
    policy = ("cluster", "park", "chain", "plan", "policy")
    for t in reversed(metadata.sorted_tables):
        if t.name not in KEEP and not t.name.startswith(policy):
            session.execute(t.delete())
    session.commit()
    rep = run_import(session, admin, "firms", data, "firms.xlsx")
    assert not rep.rejected, [(e.row, e.message) for e in rep.rejected[:5]]
    session.commit()
    after = counts(session)
    for k in ("firms", "aliases", "firm_clusters", "subsidiaries"):
        assert after[k] == before[k], k


# -- the whole folder: every table's rows again ------------------------------------------------

# tables `crm import-folder` fills, compared row by row
RESTORED = (
    "department",
    "user_account",
    "firm",
    "firm_alias",
    "firm_cluster",
    "contact",
    "project",
    "stage_change",
    "capital_arrival",
    "activity",
    "activity_firm",
    "activity_project",
    "activity_contact",
    "activity_officer",
    "followup",
    "activity_officer_week",
    "followup_officer_week",
    "cluster",
)
# what is not exported (module docstring of crm/dataset_export.py) or numbered anew
LEFT_OUT = {
    "department": {"id", "webhook_kind", "webhook_url", "webhook_secret"},
    "user_account": {"id", "session_version", "failed_logins", "locked_until", "ical_token"},
    "firm_alias": {"id"},
}


def every_row(session) -> dict[str, list[tuple]]:
    """Each restored table's rows, sorted; users and departments (numbered anew) named by
    user name and code wherever a row points at them."""
    users = {uid: name for uid, name in session.execute(select(User.id, User.username))}
    from crm.models.accounts import Department

    depts = {did: code for did, code in session.execute(select(Department.id, Department.code))}
    out = {}
    for t in metadata.sorted_tables:
        if t.name not in RESTORED:
            continue
        cols = [c for c in t.columns if c.name not in LEFT_OUT.get(t.name, set())]
        rows = []
        for r in session.execute(select(*cols)):
            row = []
            for c, v in zip(cols, r, strict=True):
                target = next(iter(c.foreign_keys)).column.table.name if c.foreign_keys else None
                if v is not None and target == "user_account":
                    v = users[v]
                elif v is not None and target == "department":
                    v = depts[v]
                row.append((c.name, v))
            rows.append(tuple(row))
        out[t.name] = sorted(rows, key=repr)
    return out


def _empty_instance(session) -> None:
    """What `crm migrate` leaves: the policy pack, no data, no people."""
    from crm.audit.immutability import purge_for_tests

    session.execute(update(Cluster).values(lead_department_id=None))
    purge_for_tests(session.connection())
    for t in reversed(metadata.sorted_tables):
        if t.name not in ("alembic_version", "cache_version", "report_stamp") and not (
            t.name.startswith(("cluster", "park", "chain", "plan", "policy"))
        ):
            session.execute(t.delete())
    session.commit()


def _extra_history(session) -> None:
    """Rows the small demo may not hold: capital arrivals, a conflict, a backward move."""
    from datetime import date
    from decimal import Decimal

    from crm.models.projects import CapitalArrival

    p = session.scalars(select(Project).order_by(Project.id)).all()
    session.add(
        CapitalArrival(
            project_id=p[0].id, amount=Decimal("1.2345"), arrived_on=date(2026, 3, 5), note="首笔"
        )
    )
    p[1].conflict_with_id = p[2].id
    p[1].actual_jobs = 120
    p[1].actual_sign_date = date(2026, 1, 2)
    session.commit()


def test_the_whole_folder_comes_back_row_for_row(session, tmp_path, committed_demo):
    from crm.imports.folder import import_folder

    _extra_history(session)
    before = every_row(session)
    for name in (
        "project",
        "stage_change",
        "capital_arrival",
        "activity",
        "followup",
        "user_account",
    ):
        assert before[name], name  # the comparison below covers each kind
    written = export_dir(session, tmp_path)
    assert written["users"] == len(before["user_account"])
    _empty_instance(session)
    assert every_row(session)["firm"] == []
    counts = import_folder(session, tmp_path)
    session.commit()
    assert counts["firms"] == len(before["firm"])
    after = every_row(session)
    for name in RESTORED:
        diff = [
            (dict(a), {k: v for k, v in b if dict(a).get(k) != v})
            for a, b in zip(before[name], after[name], strict=False)
            if a != b
        ][:2]
        assert after[name] == before[name], (name, diff)
    # the numbering goes on after the restored rows (PostgreSQL's sequences too)
    firm = session.scalars(select(Firm)).first()
    c = Contact(firm_id=firm.id, name="新联系人")
    session.add(c)
    session.commit()
    assert c.id > max(r[0][1] for r in before["contact"])
    # a second run into an instance that now holds data is refused, and changes nothing
    from crm.errors import ValidationFailed

    held = every_row(session)
    with pytest.raises(ValidationFailed):
        import_folder(session, tmp_path)
    session.rollback()
    assert every_row(session) == held


def test_passwords_travel_as_hashes_or_not_at_all(session, tmp_path, committed_demo):
    from python_calamine import CalamineWorkbook

    from crm.imports.folder import UNUSABLE_PASSWORD, import_folder

    export_dir(session, tmp_path / "with")
    export_dir(session, tmp_path / "without", with_password_hashes=False)
    rows = (
        CalamineWorkbook.from_path(str(tmp_path / "with" / "users.xlsx"))
        .get_sheet_by_index(0)
        .to_python()
    )
    col = rows[0].index("密码哈希")
    assert all(r[col] == FAKE_HASH for r in rows[1:])  # the argon2 hash, never a password
    rows = (
        CalamineWorkbook.from_path(str(tmp_path / "without" / "users.xlsx"))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert "密码哈希" not in rows[0] and FAKE_HASH not in str(rows)
    _empty_instance(session)
    import_folder(session, tmp_path / "without")
    session.commit()
    assert set(session.scalars(select(User.password_hash))) == {UNUSABLE_PASSWORD}


def test_a_folder_that_does_not_fit_saves_nothing(session, tmp_path, committed_demo):
    import io

    import openpyxl

    from crm.errors import ValidationFailed
    from crm.imports.folder import import_folder

    export_dir(session, tmp_path)
    wb = openpyxl.load_workbook(tmp_path / "followups.xlsx")
    ws = wb.active
    col = [c.value for c in ws[1]].index("负责人") + 1
    ws.cell(row=ws.max_row, column=col, value="nobody-here")
    buf = io.BytesIO()
    wb.save(buf)
    (tmp_path / "followups.xlsx").write_bytes(buf.getvalue())
    _empty_instance(session)
    empty = every_row(session)
    with pytest.raises(ValidationFailed) as e:
        import_folder(session, tmp_path)
    session.rollback()
    assert "followups.xlsx" in str(e.value.message) and "nobody-here" in str(e.value.message)
    assert every_row(session) == empty
