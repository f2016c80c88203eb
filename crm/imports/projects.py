"""Import projects through the projects service (conflicts, history, audit)."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from crm.errors import CRMError
from crm.i18n import _l
from crm.imports import progress
from crm.imports.columns import headers_of
from crm.imports.common import (
    ImportReport,
    RowError,
    _bool,
    _cluster_lookup,
    _Converter,
    _date,
    _firm_ids_by_name,
    _int,
    _pydantic_errors,
    _row_firm,
    _stage,
    _user_lookup,
)
from crm.imports.importer import Importer, Run
from crm.models.accounts import Department
from crm.models.firms import Firm
from crm.models.policy import Cluster
from crm.models.projects import Project
from crm.projects.schemas import ProjectCreate, ProjectUpdate, StageMove
from crm.projects.service import create_project, move_stage, update_project
from crm.types import stored_id

PROJECT_HEADERS = headers_of("projects")


def _update_fields(data_in: ProjectCreate) -> dict[str, object]:
    """The file's values for a matching project; a row without a title matched the generated
    one, so it leaves the title alone."""
    fields = data_in.model_dump(
        include=set(ProjectUpdate.model_fields) - {"version"}, exclude_unset=True
    )
    if fields.get("title") is None:
        fields.pop("title", None)
    return fields


def _project_input(
    i: int,
    row: dict[str, str],
    errs: list[RowError],
    fid: int | None,
    labels: dict[str, str],
    clusters: dict[str, str],
    users: dict[str, int],
    depts: dict[str, int],
) -> tuple[ProjectCreate | None, str, str]:
    """A row as the project to create, its stage and its lost reason; what is wrong goes to
    ``errs`` (a lost project needs its reason; owner and department must exist)."""
    conv = _Converter(i, row, errs)
    stage = conv("stage", _stage) or "lead"
    reason = (row.get("lost_reason") or "").strip()
    if stage == "lost" and not reason:
        errs.append(
            RowError(
                i,
                "lost_reason" if "lost_reason" in labels else "stage",
                _l("已流失的项目请填写流失原因"),
            )
        )
    owner = row.get("owner", "").strip().lower()
    dept = row.get("department", "").strip().lower()
    if owner and owner not in users:
        errs.append(RowError(i, "owner", _l("用户不存在：%(name)s", name=owner[:60])))
    if dept and dept not in depts:
        errs.append(RowError(i, "department", _l("部门不存在：%(name)s", name=dept[:60])))
    jobs = conv("expected_jobs", _int)
    confidential = conv("is_confidential", _bool)
    dates = {
        k: conv(k, _date)
        for k in ("expected_sign_date", "expected_land_date", "expected_operate_date")
    }
    cluster = clusters.get((row.get("cluster") or "").strip().lower(), row.get("cluster") or "")
    try:
        data_in = ProjectCreate(
            firm_id=fid or 1,
            title=row.get("title") or None,
            cluster=cluster,
            park=row.get("park") or None,
            chain_link=row.get("chain_link") or None,
            stage="lead" if stage == "lost" else stage,
            planned_investment=row.get("planned_investment") or None,
            expected_output=row.get("expected_output") or None,
            expected_jobs=jobs,
            owner_id=users.get(owner) if owner else None,
            department_id=depts.get(dept) if dept else None,
            is_confidential=bool(confidential),
            code_name=row.get("code_name") or None,
            notes=row.get("notes") or None,
            **{k: v for k, v in dates.items() if v is not None},
        )
    except ValidationError as exc:
        known = {e.field for e in errs}
        errs.extend(e for e in _pydantic_errors(i, exc) if e.field not in known)
        return None, stage, reason
    return data_in, stage, reason


def _matching(run: Run, found: tuple[int, int], data_in: ProjectCreate) -> None:
    """A row that is a project already there: left as it is, or given the row's values."""
    if not run.option("update_matching"):
        run.rep.unchanged += 1
        return
    pid, version = found
    update_project(
        run.session, run.actor, pid, ProjectUpdate(**_update_fields(data_in), version=version)
    )
    run.rep.updated += 1


def _import_projects(run: Run) -> ImportReport:
    """Import projects through the same service as the pages (conflict checks, history, audit).
    A row whose firm, cluster and title match a project already there is that project: left
    as it is (or, with ``update_matching``, given the row's values), so re-importing a file
    changes nothing. A lost project (已流失 / lost) needs its reason."""
    session, actor, rep = run.session, run.actor, run.rep
    firms = _firm_ids_by_name(session)
    clusters = _cluster_lookup(session)
    cluster_ids = dict(session.execute(select(Cluster.code, Cluster.id)).all())
    # a title left empty is generated as create_project does: "firm · cluster name"
    cluster_names = dict(session.execute(select(Cluster.code, Cluster.name_zh)).all())
    users = _user_lookup(session)
    depts = {}
    for did, code, name in session.execute(select(Department.id, Department.code, Department.name)):
        depts[code.lower()] = did
        depts[name.lower()] = did
    existing: dict[tuple[int, int, str], tuple[int, int]] = {
        (f, c, (t or "").strip().lower()): (pid, ver)
        for pid, f, c, t, ver in session.execute(
            select(Project.id, Project.firm_id, Project.cluster_id, Project.title, Project.version)
        )
    }
    seen_in_file: dict[tuple[int, int, str], int] = {}
    # each row is checked by creating its project (in a savepoint): the writes start here
    progress.tick("importing", 0)
    outer = session.begin_nested()
    imported = 0
    for i, row in progress.rows(run.sheet.rows, "importing"):
        errs: list[RowError] = []
        fid = _row_firm(firms, i, row, errs)
        data_in, stage, reason = _project_input(
            i, row, errs, fid, run.sheet.labels, clusters, users, depts
        )
        if errs or fid is None or data_in is None:
            rep.rejected.extend(errs)
            continue
        cid = cluster_ids.get(data_in.cluster)
        generated = (
            f"{_firm_name(session, fid)} · {cluster_names.get(data_in.cluster, data_in.cluster)}"
        )
        title = (data_in.title or generated).strip().lower()
        key = (fid, cid or 0, title)
        if key in seen_in_file:
            rep.rejected.append(
                RowError(i, "title", _l("与第 %(row)s 行重复", row=seen_in_file[key]))
            )
            continue
        seen_in_file[key] = i
        sp = session.begin_nested()
        try:
            if key in existing:
                _matching(run, existing[key], data_in)
                sp.commit()
                continue
            p = create_project(session, actor, data_in)
            if stage == "lost":
                move_stage(session, actor, stored_id(p), StageMove(stage="lost", reason=reason))
            sp.commit()
            imported += 1
        except CRMError as exc:
            sp.rollback()
            rep.rejected.append(RowError(i, exc.field, exc.message))
    if run.stops(imported):
        outer.rollback()
        return rep
    outer.commit()
    return run.applied("project", imported, updated=rep.updated)


# (not with the garbage collector paused: each row goes through the projects service)
import_projects = Importer("projects", PROJECT_HEADERS, _import_projects, pause_gc=False)


def _firm_name(session: Session, firm_id: int) -> str:
    return session.scalar(select(Firm.name_zh).where(Firm.id == firm_id)) or ""
