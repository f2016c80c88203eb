"""The firm page: details, projects, one timeline (paged), and logging a contact inline."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from crm.activities.schemas import ActivityCreate
from crm.activities.service import Logged, log_activity
from crm.activities.timeline import entries_for, firm_timeline
from crm.audit.gone import ParentGone
from crm.authz import is_manager
from crm.clock import now_local
from crm.errors import CRMError
from crm.firms.duplicates import check_firm
from crm.firms.views import firm_contacts, firm_detail, firm_projects, firm_row, firm_row_to_add
from crm.policy.service import plan_lists
from crm.submissions import AlreadySubmitted
from web import forms
from web.activities import DT_INPUT, KINDS, REMIND_OFFSETS, followup_input, offered_errors
from web.forms import FormBody, FormInvalid, FormRejected
from web.visit import PageVisit, ShortWriteVisit, Visit

router = APIRouter(prefix="/firms", include_in_schema=False)

TIMELINE_PAGE = 20
FIRM_PROJECTS_SHOWN = 50  # a firm page's projects (firm_projects' page)


def default_log_values() -> dict[str, Any]:
    now = now_local()
    due = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    return {
        "kind": "visit",
        "occurred_at": now.strftime(DT_INPUT),
        "contact_ids": [],
        "followup_due": due.strftime(DT_INPUT),
        "remind": 0,
    }


def _page_ctx(
    visit: PageVisit,
    firm_id: int,
    *,
    timeline: bool = True,
    **kw: Any,
) -> dict[str, Any]:
    """The firm page's context; ``timeline=False`` counts the timeline without loading it
    (for fragments that show the form, contacts or the count only)."""
    detail = firm_detail(visit.session, visit.user, firm_id, projects_limit=FIRM_PROJECTS_SHOWN)
    projects, projects_total = detail.projects, detail.projects_total
    entries, total = firm_timeline(
        visit.session, visit.user, firm_id, limit=TIMELINE_PAGE if timeline else 0
    )
    ctx = {
        "nav": "firms",
        "d": detail,
        "firm": detail.firm,
        "projects": projects,
        "projects_total": projects_total,
        "entries": entries,
        "timeline_total": total,
        "next_offset": TIMELINE_PAGE if total > TIMELINE_PAGE else None,
        "cluster_names": {c.id: c for c in plan_lists(visit.session).clusters},
        "kinds": KINDS,
        "remind_offsets": REMIND_OFFSETS,
        "log": default_log_values(),
        "log_errors": {},
        "contact_errors": {},
        "contact_values": {},
    }
    ctx.update(kw)
    return ctx


@router.get("/{firm_id:id}")
def firm_page(
    visit: Visit,
    firm_id: int,
    merged: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    created: int = 0,
) -> Response:
    ctx = _page_ctx(visit, firm_id)
    ctx["created"] = bool(created)  # just created: the page confirms it
    if is_manager(visit.user):
        # a warning with a way out: the records that look like this one, to merge
        names = [ctx["firm"].name_zh, ctx["firm"].name_en, *ctx["d"].aliases]
        ctx["duplicates"] = check_firm(visit.session, names, exclude_id=firm_id).all[:5]
        ctx["merged"] = merged
    return visit.render("firms/page.html", ctx)


@router.get("/{firm_id:id}/timeline")
def timeline_more(
    visit: Visit,
    firm_id: int,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    firm = firm_row(visit.session, visit.user, firm_id)
    entries, total = firm_timeline(
        visit.session, visit.user, firm_id, limit=TIMELINE_PAGE, offset=offset
    )
    nxt = offset + TIMELINE_PAGE
    return visit.render(
        "firms/_timeline_page.html",
        {
            "entries": entries,
            "firm": firm,
            "next_offset": nxt if total > nxt else None,
        },
    )


# --- log a contact --------------------------------------------------------------------------------


def _log_data(form: FormData, firm_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The form's raw values (to show again) and the ActivityCreate input built from them."""
    raw = {
        "kind": forms.text(form, "kind") or "",
        "occurred_at": forms.text(form, "occurred_at") or "",
        "contact_ids": [str(c) for c in forms.integers(form, "contact_ids")],
        "summary": forms.text(form, "summary") or "",
        "outcome": forms.text(form, "outcome") or "",
        "project_id": forms.text(form, "project_id") or "",
        "followup_title": forms.text(form, "followup_title") or "",
        "followup_due": forms.text(form, "followup_due") or "",
        "remind": forms.integer(form, "remind") or 0,
    }
    project_id = forms.integer(form, "project_id")
    data: dict[str, Any] = {
        "kind": raw["kind"],
        "occurred_at": raw["occurred_at"] or None,
        "summary": raw["summary"],
        "outcome": raw["outcome"] or None,
        "firm_ids": [firm_id],
        "contact_ids": forms.integers(form, "contact_ids"),
        "project_ids": [project_id] if project_id is not None else [],
    }
    if raw["followup_title"]:
        data["followup"] = followup_input(raw)
    return raw, data


LOG_FIELDS = {
    "firm_ids": "",
    "project_ids": "project_id",
    "followup.due_at": "followup_due",
    "followup.title": "followup_title",
    "followup.remind_at": "remind",
    "remind_at": "remind",
    "due_at": "followup_due",
    "followup": "followup_title",
    "assignee_id": "followup_title",
}


@router.post("/{firm_id:id}/activities")
def log_contact(form: FormBody, visit: ShortWriteVisit, firm_id: int) -> Response:
    """Log a contact: the form read and checked first, the contact written in a short
    transaction of its own (``log_activity`` checks its links again inside it), then the answer
    read — SQLite's write lock is held for the write alone (it was the whole request: 1.5 s at
    p95 in the mixed workload, two web processes).

    The form's one-use key is claimed in that transaction (``crm.submissions``): the same form
    posted again — a double tap, a retry after an answer that failed once the contact was
    written — records nothing and says so. A firm deleted or merged away since the page was
    shown is the 409 saying so, not "not found"."""
    firm = firm_row_to_add(visit.session, visit.user, firm_id)
    raw, data = _log_data(form, firm_id)
    key = raw["submission_key"] = forms.submission_key(form)
    try:
        payload = forms.validate_all(
            visit.request, ActivityCreate, data, offered_errors(visit.request, raw)
        )
        with visit.writing():
            visit.claim(key, payload, f"/firms/{firm_id}")
            logged = log_activity(visit.session, visit.user, payload)
    except AlreadySubmitted as exc:
        if not visit.htmx:
            return forms.answered_before(visit.request, exc)
        return _logged(visit, firm, None)
    except (FormInvalid, CRMError) as exc:
        if isinstance(exc, ParentGone) and exc.field in (None, "firm_ids"):
            raise  # the firm itself: the error page (HTMX: its message as a toast)
        errors = {LOG_FIELDS.get(k, k): v for k, v in forms.errors_of(visit.request, exc).items()}
        raw["submission_key"] = forms.key_to_show(key, exc)
        ctx = _page_ctx(
            visit,
            firm_id,
            timeline=not visit.htmx,
            log=raw,
            log_errors=errors,
        )
        raise FormRejected(
            visit.render("firms/page.html", ctx, block="log_form", status_code=422)
        ) from exc
    if not visit.htmx:
        return RedirectResponse(f"/firms/{firm_id}", status_code=303)
    return _logged(visit, firm, logged)


def _logged(visit: PageVisit, firm: Any, logged: Logged | None) -> Response:
    """The HTMX answer to a logged contact: a fresh form (contacts, projects), the new entry
    and the count — not the whole page's context (details, clusters, aliases, the plan's
    lists). ``logged`` None: the form had been posted already, nothing recorded this time
    (the answer says so)."""
    firm_id = firm.id
    projects, _ = firm_projects(visit.session, visit.user, firm_id)
    _, total = firm_timeline(visit.session, visit.user, firm_id, limit=0)
    ctx = {
        "firm": firm,
        "d": {"contacts": firm_contacts(visit.session, firm_id)},
        "projects": projects,
        "timeline_total": total,
        "kinds": KINDS,
        "remind_offsets": REMIND_OFFSETS,
        "log": default_log_values(),
        "log_errors": {},
        "new_entry": (
            entries_for(visit.session, visit.user, [logged.activity])[0] if logged else None
        ),
        "saved": logged is not None and logged.followup is not None,
        "already": logged is None,
    }
    return visit.render("firms/_logged.html", ctx)
