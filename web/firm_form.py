"""Adding and editing a firm: the form, the owners the user may name, and the refusals beside
the fields (a near-duplicate name, a stale version)."""

from __future__ import annotations

from typing import Any, NoReturn

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.datastructures import FormData

from crm.accounts.service import user_choices
from crm.authz import owner_choices
from crm.errors import CRMError, StaleVersion
from crm.firms.schemas import FirmCreate, FirmUpdate
from crm.firms.service import (
    DuplicateFirm,
    create_firm,
    editable_firm,
    firm_aliases,
    firm_cluster_codes,
    get_firm,
    update_firm,
)
from crm.firms.views import firm_names
from crm.policy.service import list_clusters
from crm.submissions import AlreadySubmitted, settle
from server.deps import SessionDep
from web import forms
from web.firms import TIERS, Q
from web.forms import FormBody, FormInvalid, FormRejected
from web.visit import PageVisit, Visit

router = APIRouter(prefix="/firms", include_in_schema=False)


def _firm_data(form: FormData) -> dict[str, Any]:
    return {
        "name_zh": forms.text(form, "name_zh") or "",
        "name_en": forms.text(form, "name_en"),
        "aliases": forms.lines(forms.text(form, "aliases")),
        "country": forms.text(form, "country"),
        "headquarters": forms.text(form, "headquarters"),
        "global500_rank": forms.integer(form, "global500_rank"),
        "china500_rank": forms.integer(form, "china500_rank"),
        "is_leader": forms.checkbox(form, "is_leader"),
        "website": forms.text(form, "website"),
        "credit_code": forms.text(form, "credit_code"),
        "parent_id": forms.integer(form, "parent_id"),
        "owner_id": forms.integer(form, "owner_id"),
        "clusters": [c for c in form.getlist("clusters") if isinstance(c, str) and c],
        "notes": forms.text(form, "notes"),
    }


def _form_ctx(visit: PageVisit, values: dict[str, Any], **kw: Any) -> dict[str, Any]:
    parent_id = values.get("parent_id")
    parent_name = None
    if isinstance(parent_id, int):
        parent_name = firm_names(visit.session, {parent_id}).get(parent_id)
    return {
        "nav": "firms",
        "values": values,
        "clusters": list_clusters(visit.session),
        # the owners this user may name (crm.authz): a new firm is the user's own by default
        "owners": owner_choices(
            visit.user,
            user_choices(visit.session, visit.user),
            kw["firm"].owner_id if kw.get("firm") is not None else visit.user.id,
        ),
        "tiers": TIERS,
        "errors": {},
        "parent_name": parent_name,
        **kw,
    }


def _firm_values(session: SessionDep, firm_id: int, firm: Any) -> dict[str, Any]:
    v = firm.model_dump()
    v["aliases"] = firm_aliases(session, [firm_id])[firm_id]
    v["clusters"] = firm_cluster_codes(session, [firm_id])[firm_id]
    return v


@router.get("/new")
def new_firm(visit: Visit, name_zh: Q = None) -> Response:
    return visit.render(
        "firms/form.html",
        _form_ctx(
            visit,
            {"name_zh": name_zh, "owner_id": visit.user.id, "clusters": [], "aliases": []},
            mode="new",
        ),
    )


@router.post("/new")
def create_firm_page(form: FormBody, visit: Visit) -> Response:
    values = _firm_data(form)
    confirm = forms.checkbox(form, "confirm")
    key = forms.submission_key(form)  # the same form again records nothing (crm.submissions)
    try:
        data = forms.validate(visit.request, FirmCreate, values)
        with visit.session.begin_nested():
            # the key is bound to this form: the firm as read and the confirmation
            content = {"firm": data, "confirm": confirm}
            visit.claim(key, content)
            firm = create_firm(visit.session, visit.user, data, confirm=confirm)
            outcome = f"/firms/{firm.id}?created=1"  # the page confirms it
            settle(visit.session, visit.user, key, outcome)
    except AlreadySubmitted as exc:
        return forms.answered_before(visit.request, exc)
    except FormInvalid as exc:
        _form_error(visit, values, exc.errors, mode="new", submission_key=key)
    except DuplicateFirm as exc:
        _form_error(visit, values, {}, mode="new", duplicate=exc, submission_key=key)
    except CRMError as exc:
        errors = forms.field_errors(visit.request, exc)
        shown = forms.key_to_show(key, exc)
        _form_error(visit, values, errors, mode="new", status=exc.status, submission_key=shown)
    return forms.done(visit.request, outcome)


@router.get("/{firm_id:id}/edit")
def edit_firm(visit: Visit, firm_id: int) -> Response:
    firm = editable_firm(visit.session, visit.user, firm_id)
    return visit.render(
        "firms/form.html",
        _form_ctx(visit, _firm_values(visit.session, firm_id, firm), mode="edit", firm=firm),
    )


@router.post("/{firm_id:id}/edit")
def update_firm_page(form: FormBody, visit: Visit, firm_id: int) -> Response:
    firm = get_firm(visit.session, visit.user, firm_id)
    values = _firm_data(form)
    values["version"] = forms.integer(form, "version")
    try:
        data = forms.validate(visit.request, FirmUpdate, values)
        with visit.session.begin_nested():
            update_firm(visit.session, visit.user, firm_id, data)
    except FormInvalid as exc:
        _form_error(visit, values, exc.errors, mode="edit", firm=firm)
    except StaleVersion as exc:
        visit.session.refresh(firm)
        _form_error(
            visit,
            values,
            {},
            mode="edit",
            firm=firm,
            stale=forms.pick(visit.request, exc.message),
            status=409,
        )
    except DuplicateFirm as exc:
        _form_error(visit, values, {}, mode="edit", firm=firm, duplicate=exc)
    except CRMError as exc:
        _form_error(
            visit,
            values,
            forms.field_errors(visit.request, exc),
            mode="edit",
            firm=firm,
            status=exc.status,
        )
    return forms.done(visit.request, f"/firms/{firm_id}")


def _form_error(
    visit: PageVisit,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    status: int = 422,
    duplicate: DuplicateFirm | None = None,
    **kw: Any,
) -> NoReturn:
    """Refuse the firm form: re-rendered with the user's input and the errors beside the
    fields; the request's transaction rolls back (``FormRejected``)."""
    if duplicate is not None:
        status = 409
        errors = {"name_zh": forms.pick(visit.request, duplicate.message)}
    raise FormRejected(
        visit.render(
            "firms/form.html",
            _form_ctx(visit, values, errors=errors, duplicate=duplicate, **kw),
            status_code=status,
        )
    )
