"""A firm's contacts on its page: the card, adding, editing and removing one (HTMX swaps)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from crm.audit.gone import ParentGone
from crm.errors import CRMError, NotFound, StaleVersion
from crm.firms.schemas import ContactCreate, ContactUpdate
from crm.firms.service import (
    create_contact,
    delete_contact,
    get_contact,
    get_firm,
    update_contact,
)
from crm.firms.views import firm_detail
from crm.i18n import _l
from crm.models.accounts import User
from crm.submissions import AlreadySubmitted
from web import forms
from web.firm_page import default_log_values
from web.forms import FormBody, FormInvalid, FormRejected
from web.visit import PageVisit, Visit

router = APIRouter(prefix="/firms", include_in_schema=False)


def _contacts_ctx(visit: PageVisit, firm_id: int, **kw: Any) -> dict[str, Any]:
    """Just what the contacts card and the log form's contact list need."""
    detail = firm_detail(visit.session, visit.user, firm_id)
    return {
        "d": detail,
        "firm": detail.firm,
        "log": default_log_values(),
        "contact_errors": {},
        "contact_values": {},
        **kw,
    }


def _contact_data(form: FormData) -> dict[str, Any]:
    return {k: forms.text(form, k) for k in ("name", "title", "phone", "email", "wechat", "notes")}


def _contacts_response(visit: PageVisit, firm_id: int, status: int = 200, **kw: Any) -> Response:
    ctx = _contacts_ctx(visit, firm_id, **kw)
    return visit.render("firms/_contacts_swap.html", ctx, status_code=status)


def _refusal(
    visit: PageVisit,
    model: type[Any],
    values: dict[str, Any],
    save: Callable[[Session, User, int, Any], object],
    target: int,
    key: str | None = None,
    outcome: str | None = None,
) -> FormInvalid | CRMError | None:
    """``values`` validated as ``model`` and saved by the service ``save`` (to the firm or the
    contact ``target``) in a savepoint: None once saved, else why not (shown beside the fields;
    nothing written). A 404 — the firm or the contact gone or not the user's to see — is no
    form error: it is raised to the error page, as is the 409 of a firm deleted or merged away
    since the page was shown, and a form posted again with its one-use ``key``
    (``crm.submissions``: ``AlreadySubmitted``, nothing written)."""
    try:
        data = forms.validate(visit.request, model, values)
        with visit.session.begin_nested():
            visit.claim(key, data, outcome)
            save(visit.session, visit.user, target, data)
    except (FormInvalid, CRMError) as exc:
        if isinstance(exc, CRMError) and (
            exc.status == 404 or isinstance(exc, ParentGone | AlreadySubmitted)
        ):
            raise
        return exc
    return None


def _changed(visit: PageVisit, firm_id: int, **kw: Any) -> Response:
    """After a change: back to the firm page, or (HTMX) the contacts card again."""
    if not visit.htmx:
        return RedirectResponse(f"/firms/{firm_id}", status_code=303)
    return _contacts_response(visit, firm_id, **kw)


@router.get("/{firm_id:id}/contacts")
def contacts_block(visit: Visit, firm_id: int) -> Response:
    return _contacts_response(visit, firm_id)


@router.post("/{firm_id:id}/contacts")
def add_contact(form: FormBody, visit: Visit, firm_id: int) -> Response:
    values = _contact_data(form)
    key = forms.submission_key(form)
    try:
        refused = _refusal(
            visit, ContactCreate, values, create_contact, firm_id, key, f"/firms/{firm_id}"
        )
    except AlreadySubmitted as exc:  # the same form again: nothing added, the card says so
        if not visit.htmx:
            return forms.answered_before(visit.request, exc)
        return _contacts_response(visit, firm_id, contact_already=True)
    if refused is not None:
        raise FormRejected(
            _contacts_response(
                visit,
                firm_id,
                422,
                contact_values={**values, "submission_key": forms.key_to_show(key, refused)},
                contact_errors=forms.errors_of(visit.request, refused),
                adding=True,
            )
        ) from refused
    return _changed(visit, firm_id, contact_saved=True)


def _own_contact(visit: PageVisit, firm_id: int, contact_id: int) -> Any:
    c = get_contact(visit.session, visit.user, contact_id)
    if c.firm_id != firm_id:
        raise NotFound(_l("联系人不存在"))
    return c


@router.get("/{firm_id:id}/contacts/{contact_id:id}/edit")
def edit_contact(visit: Visit, firm_id: int, contact_id: int) -> Response:
    c = _own_contact(visit, firm_id, contact_id)
    return visit.render(
        "firms/_contact_edit.html",
        {
            "firm": get_firm(visit.session, visit.user, firm_id),
            "c": c,
            "values": c.model_dump(),
            "errors": {},
        },
    )


@router.post("/{firm_id:id}/contacts/{contact_id:id}")
def save_contact(
    form: FormBody,
    visit: Visit,
    firm_id: int,
    contact_id: int,
) -> Response:
    c = _own_contact(visit, firm_id, contact_id)
    values: dict[str, Any] = {**_contact_data(form), "version": forms.integer(form, "version")}
    refused = _refusal(visit, ContactUpdate, values, update_contact, contact_id)
    if refused is not None:
        errors = forms.errors_of(visit.request, refused)
        stale = isinstance(refused, StaleVersion)
        if stale:
            visit.session.refresh(c)
        raise FormRejected(
            visit.render(
                "firms/_contact_edit.html",
                {
                    "firm": get_firm(visit.session, visit.user, firm_id),
                    "c": c,
                    "values": values,
                    "errors": errors,
                    "stale": stale,
                },
                status_code=409 if stale else 422,
            )
        ) from refused
    return _changed(visit, firm_id)


@router.post("/{firm_id:id}/contacts/{contact_id:id}/delete")
def remove_contact(
    form: FormBody,
    visit: Visit,
    firm_id: int,
    contact_id: int,
) -> Response:
    _own_contact(visit, firm_id, contact_id)
    delete_contact(visit.session, visit.user, contact_id, forms.required_version(form))
    return _changed(visit, firm_id)
