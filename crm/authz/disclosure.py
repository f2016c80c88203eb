"""What a message may say about a confidential project (SPEC §6): its code name and the kind of
task, never its title, its firm, or the free text of a follow-up or activity on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from crm.i18n import Message, _l
from crm.models.activities import ActivityProject
from crm.models.followups import Followup
from crm.models.projects import Project

FOLLOWUP_KIND = _l("跟进事项")  # the kind of task, in the reader's language
NO_CODE_NAME = "—"  # a confidential project stored without a code name (the services refuse one)

_Title = TypeVar("_Title", str, str | None)


def project_label(title: _Title, confidential: bool | None, code_name: str | None) -> _Title:
    """How a project is named where it may travel (reports, messages, exports, labels): a
    confidential one by its code name only. No project (an outer join's NULLs): None."""
    if confidential:
        return code_name or NO_CODE_NAME
    return title


def conflict_pair_labels(
    first: tuple[str, bool | None, str | None],
    later: tuple[str, bool | None, str | None],
    first_dept: str | None,
    later_dept: str | None,
) -> tuple[Any, Any, bool, bool]:
    """How a message names the two projects of a 撞单 (same firm, same cluster), each given as
    (title, confidential, code name): a confidential one by its code name — and then the other
    side by its department only ("西永微电园招商局的项目"), since beside a code name the twin's
    title would name the firm (SPEC §6; ATTACK9 P3-17). Two open projects keep their titles.
    Returns both labels and whether each side was named by its department (its department is
    then not repeated beside it). The /conflicts page, a page of the app, keeps both names."""
    labels: list[Any] = [project_label(*first), project_label(*later)]
    by_dept = [False, False]
    if first[1] or later[1]:
        for i, (side, dept) in enumerate(((first, first_dept), (later, later_dept))):
            if not side[1]:
                labels[i] = _l("%(dept)s的项目", dept=dept or "—")
                by_dept[i] = True
    return labels[0], labels[1], by_dept[0], by_dept[1]


def figures_owner(firm_id: int, project_id: int, confidential: bool) -> int | tuple[str, int]:
    """Under whom a report adds up a project's figures beside a name (coverage's investors, a
    chain link's): its firm — or, for a confidential project, the project alone, named by its
    code name. A confidential project's figures are never added to its firm's named entry: the
    firm would be read off the code name beside it (SPEC §5 "never its firm, not even beside
    the code name")."""
    return ("confidential", project_id) if confidential else firm_id


def project_label_sql(project: Any) -> Any:
    """``project_label`` as a SQL expression over a ``Project`` (or an alias of it)."""
    return case(
        (project.is_confidential, func.coalesce(project.code_name, NO_CODE_NAME)),
        else_=project.title,
    )


def activity_code_name(activity_id_col: Any) -> Any:
    """A scalar subquery: the code name of a confidential project the activity (column) names,
    or NULL — so a follow-up attached to such an activity is redacted like one on the project."""
    p = aliased(Project)
    ap = aliased(ActivityProject)
    return (
        select(func.min(func.coalesce(p.code_name, "—")))
        .where(ap.activity_id == activity_id_col, ap.project_id == p.id, p.is_confidential)
        .scalar_subquery()
    )


def with_followup_naming(stmt: Any, project: Any, firm: Any) -> Any:
    """``stmt`` (a select over Followup) with the columns that name where a follow-up belongs in
    a message or calendar event, and what decides how much may be said: ``project_id``,
    ``firm_id``, ``p_title``, ``is_confidential``, ``code_name``, ``firm`` and ``act_code``
    (``activity_code_name``); ``project`` and ``firm`` (aliases of Project and Firm) are
    outer-joined on the follow-up's ``project_id`` and ``firm_id`` for them."""
    return (
        stmt.add_columns(
            Followup.project_id,
            Followup.firm_id,
            project.title.label("p_title"),
            project.is_confidential,
            project.code_name,
            firm.name_zh.label("firm"),
            activity_code_name(Followup.activity_id).label("act_code"),
        )
        .outerjoin(project, project.id == Followup.project_id)
        .outerjoin(firm, firm.id == Followup.firm_id)
    )


def task_title(
    title: str,
    confidential: bool | None,
    code_name: str | None,
    kind: str | Message = FOLLOWUP_KIND,
) -> str:
    """A follow-up's title in a message or calendar event: on a confidential project, the code
    name and the kind of task only."""
    if confidential:
        return f"{code_name or '—'} · {kind}"
    return title


# ---- exports (SPEC §5: a confidential project by its code name only, in every export) --------

_CHUNK = 5000  # ids per IN (…): well inside SQLite's and PostgreSQL's parameter limits
_FIRM_FIELDS = ("firm_id", "firm_name", "firm", "firm_ids")


def _chunks(ids: set[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]


def secret_projects(session: Any, project_ids: set[int]) -> dict[int, str]:
    """The confidential ones among ``project_ids``: id → code name ("—" when none is set)."""
    out: dict[int, str] = {}
    for chunk in _chunks(project_ids):
        for pid, code in session.execute(
            select(Project.id, Project.code_name).where(
                Project.id.in_(chunk), Project.is_confidential
            )
        ):
            out[pid] = code or "—"
    return out


def secret_activities(session: Any, activity_ids: set[int]) -> dict[int, str]:
    """The activities among ``activity_ids`` that name a confidential project: id → the code
    names of those projects ("雪峰, 白鹭")."""
    found: dict[int, list[str]] = {}
    for chunk in _chunks(activity_ids):
        for aid, code in session.execute(
            select(ActivityProject.activity_id, Project.code_name)
            .join(Project, Project.id == ActivityProject.project_id)
            .where(ActivityProject.activity_id.in_(chunk), Project.is_confidential)
            .order_by(ActivityProject.activity_id, Project.id)
        ):
            found.setdefault(aid, []).append(code or "—")
    return {aid: ", ".join(codes) for aid, codes in found.items()}


def _blank(row: dict[str, Any], *fields: str) -> None:
    for f in fields:
        if f in row:
            row[f] = None


def _redact_projects(session: Any, rows: list[dict[str, Any]], lang: str) -> None:
    # a 撞单 pair names one firm: a confidential project's partner would name its firm
    secret_partners = secret_projects(
        session, {r["conflict_with_id"] for r in rows if r.get("conflict_with_id")}
    )
    for r in rows:
        if r.get("is_confidential"):
            r["title"] = project_label(r.get("title"), True, r.get("code_name"))
            _blank(r, *_FIRM_FIELDS, "notes", "lost_reason", "conflict_with_id", "in_conflict")
        elif r.get("conflict_with_id") in secret_partners:
            _blank(r, "conflict_with_id")


def _redact_followups(session: Any, rows: list[dict[str, Any]], lang: str) -> None:
    by_project = secret_projects(
        session, {r["project_id"] for r in rows if r.get("project_id") is not None}
    )
    by_activity = secret_activities(
        session, {r["activity_id"] for r in rows if r.get("activity_id") is not None}
    )
    for r in rows:
        code = by_project.get(r.get("project_id") or 0) or by_activity.get(
            r.get("activity_id") or 0
        )
        if code is not None:
            r["title"] = task_title(r.get("title") or "", True, code, FOLLOWUP_KIND.render(lang))
            _blank(r, *_FIRM_FIELDS, "notes")


def _redact_activities(session: Any, rows: list[dict[str, Any]], lang: str) -> None:
    secret = secret_activities(session, {r["id"] for r in rows if r.get("id") is not None})
    for r in rows:
        code = secret.get(r.get("id") or 0)
        if code is not None:
            r["summary"] = code
            _blank(r, *_FIRM_FIELDS, "outcome", "contact_ids")


_REDACT: dict[str, Callable[[Any, list[dict[str, Any]], str], None]] = {
    "projects": _redact_projects,
    "followups": _redact_followups,
    "activities": _redact_activities,
}


def redact_export_rows(
    session: Any, kind: str, rows: list[dict[str, Any]], lang: str
) -> list[dict[str, Any]]:
    """A list's rows as an export may write them, for every reader: a confidential project (and
    a follow-up or activity on one) by its code name only — no title, no firm, no free text
    (notes, summary, outcome, lost reason), nor its 撞单 partner (which names the same firm) —
    the partner's row keeps that it is in a 撞单, not with which project. The page on screen
    keeps showing what the reader may see; a workbook travels to meetings. (Firms and the other
    lists: as they are.)"""
    redact = _REDACT.get(kind)
    if redact is not None:
        redact(session, rows, lang)
    return rows
