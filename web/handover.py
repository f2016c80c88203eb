"""Handing over a leaving officer's work (admins; managers for their department): what they
hold, to whom — all to one person or firm by firm — and deactivation, in one step."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from crm.accounts.service import user_choices
from crm.authz import is_admin
from crm.errors import CRMError
from crm.models.accounts import User
from crm.reassign import holdings, reassign, team
from crm.schemas import read_id
from web import forms
from web.forms import FormBody, FormRejected
from web.visit import PageVisit, Visit

router = APIRouter(prefix="/users", include_in_schema=False)


def _ctx(visit: PageVisit, user_id: int) -> dict:
    held = holdings(visit.session, visit.user, user_id)
    officer = visit.session.get(User, user_id)
    heirs = [
        u
        for u in user_choices(visit.session, visit.user)
        if u.is_active
        and u.id != user_id
        and (is_admin(visit.user) or u.department_id == visit.user.department_id)
    ]
    firm_ids = list(held.firm_names)
    per = {i: [0, 0] for i in firm_ids}
    for *_, f in held.projects:
        per[f][0] += 1
    for *_, f in held.followups:
        if f is not None:
            per[f][1] += 1
    return {
        "nav": "admin" if is_admin(visit.user) else "",
        "officer": officer,
        "held": held,
        "heirs": heirs,
        "firm_ids": sorted(firm_ids, key=lambda i: held.firm_names[i]),
        "per": per,
        "error": None,
    }


@router.get("/team")
def team_page(visit: Visit) -> Response:
    """Managers' way to the handover: their department's people and what each holds (admins:
    everyone but admins), each with a link to the handover page."""
    return visit.render(
        "admin/team.html",
        {
            "nav": "admin" if is_admin(visit.user) else "",
            "members": team(visit.session, visit.user),
        },
    )


@router.get("/{user_id:id}/handover")
def handover_page(visit: Visit, user_id: int) -> Response:
    return visit.render("admin/handover.html", _ctx(visit, user_id))


@router.post("/{user_id:id}/handover")
def handover_submit(form: FormBody, visit: Visit, user_id: int) -> Response:
    to_all = forms.integer(form, "to_user_id")
    per_firm = {}
    for key in form:
        firm_id = read_id(key[5:]) if key.startswith("firm_") else None
        if firm_id:
            v = forms.integer(form, key)
            if isinstance(v, int):
                per_firm[firm_id] = v
    try:
        with visit.session.begin_nested():  # the page below shows the rows as they were
            reassign(
                visit.session,
                visit.user,
                user_id,
                to_user_id=to_all if isinstance(to_all, int) else None,
                per_firm=per_firm,
                deactivate=forms.checkbox(form, "deactivate"),
            )
    except CRMError as exc:
        if exc.status in (403, 404):
            raise
        ctx = _ctx(visit, user_id)
        ctx["error"] = forms.pick(visit.request, exc.message)
        raise FormRejected(visit.render("admin/handover.html", ctx, status_code=422)) from exc
    return RedirectResponse(f"/users/{user_id}/handover", status_code=303)
