"""Handing over a leaving officer's work (admins; managers for their department): what they
hold, to whom — all to one person or firm by firm — and deactivation, in one step."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from crm.accounts.service import user_choices
from crm.authz import is_admin
from crm.errors import CRMError
from crm.models.accounts import User
from crm.reassign import holdings, reassign, team
from server.deps import SessionDep, WebUser
from web import forms
from web.forms import FormRejected
from web.render import render

router = APIRouter(prefix="/users", include_in_schema=False)


def _ctx(session: SessionDep, user: WebUser, user_id: int) -> dict:
    held = holdings(session, user, user_id)
    officer = session.get(User, user_id)
    heirs = [
        u
        for u in user_choices(session, user)
        if u.is_active
        and u.id != user_id
        and (is_admin(user) or u.department_id == user.department_id)
    ]
    firm_ids = list(held.firm_names)
    per = {i: [0, 0] for i in firm_ids}
    for *_, f in held.projects:
        per[f][0] += 1
    for *_, f in held.followups:
        if f is not None:
            per[f][1] += 1
    return {
        "nav": "admin" if is_admin(user) else "",
        "officer": officer,
        "held": held,
        "heirs": heirs,
        "firm_ids": sorted(firm_ids, key=lambda i: held.firm_names[i]),
        "per": per,
        "error": None,
    }


@router.get("/team")
def team_page(request: Request, session: SessionDep, user: WebUser) -> Response:
    """Managers' way to the handover: their department's people and what each holds (admins:
    everyone but admins), each with a link to the handover page."""
    return render(
        request,
        "admin/team.html",
        {"nav": "admin" if is_admin(user) else "", "members": team(session, user)},
    )


@router.get("/{user_id}/handover")
def handover_page(request: Request, session: SessionDep, user: WebUser, user_id: int) -> Response:
    return render(request, "admin/handover.html", _ctx(session, user, user_id))


@router.post("/{user_id}/handover")
async def handover_submit(
    request: Request, session: SessionDep, user: WebUser, user_id: int
) -> Response:
    form = await request.form()
    to_all = forms.integer(form, "to_user_id")
    per_firm = {}
    for key in form:
        if key.startswith("firm_") and key[5:].isdigit() and len(key) < 20:
            v = forms.integer(form, key)
            if isinstance(v, int):
                per_firm[int(key[5:])] = v
    try:
        with session.begin_nested():  # the page below shows the rows as they were
            reassign(
                session,
                user,
                user_id,
                to_user_id=to_all if isinstance(to_all, int) else None,
                per_firm=per_firm,
                deactivate=forms.checkbox(form, "deactivate"),
            )
    except CRMError as exc:
        if exc.status in (403, 404):
            raise
        ctx = _ctx(session, user, user_id)
        ctx["error"] = forms.pick(request, exc.message)
        raise FormRejected(render(request, "admin/handover.html", ctx, status_code=422)) from exc
    return RedirectResponse(f"/users/{user_id}/handover", status_code=303)
