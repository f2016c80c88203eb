"""Firms and their contacts: /api/v1/firms, /api/v1/firms/{id}/contacts, /api/v1/contacts
(every firm's, searched and sorted), /api/v1/contacts/{id}."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.common import (
    ERRORS,
    ClusterCode,
    IdempotencyKey,
    IdPath,
    IdQuery,
    Limit,
    Offset,
    Page,
    QText,
    QTime,
    VersionQuery,
    row_as,
    rows_as,
)
from api.export import Fmt, ListAnswer, ListQuery, list_route, wants_xlsx
from crm.authz import require_manager
from crm.errors import ValidationFailed
from crm.firms import contacts as contacts_service
from crm.firms import merge, service, unmerge
from crm.firms.contacts import ContactFilters
from crm.firms.schemas import (
    ContactCreate,
    ContactPublic,
    ContactUpdate,
    FirmCreate,
    FirmPublic,
    FirmUpdate,
)
from crm.i18n import _l
from crm.schemas import Id, InputModel
from crm.sorting import parse_sort
from crm.submissions import claim, settle
from crm.vocabulary import TierName
from server.deps import ApiUser, SessionDep
from server.download import EXPORT_LIMIT, XLSX, list_workbook

router = APIRouter(tags=["firms"], responses=ERRORS)


class FirmPage(Page[FirmPublic]):
    pass


class ContactPage(Page[ContactPublic]):
    pass


class FirmQuery(ListQuery):
    q: QText(100, "name, alias, pinyin or pinyin initials") = None
    cluster: ClusterCode = None
    tier: TierName | None = None
    country: QText(60) = None
    owner_id: IdQuery = None
    updated_since: QTime = None
    format: Fmt = "json"


@list_route(
    router,
    "/firms",
    FirmPage,
    "List and search firms",
    "`format=xlsx` (or `Accept: " + XLSX + "`): every matching firm as Excel.",
)
def list_firms(lister: ListAnswer, query: Annotated[FirmQuery, Query()]) -> Any:
    return lister.answer(
        query,
        "firms",
        service.FirmFilters(**query.filters()),
        partial(service.list_firms, strict=True),
        lambda rows: service.to_public_many(lister.session, rows),
        FirmPage,
    )


@router.post(
    "/firms",
    response_model=FirmPublic,
    status_code=201,
    summary="Add a firm",
    description="A firm with the same name or credit code is refused (409 "
    "`duplicate_firm`); a similar one too unless `confirm=true`.",
)
def create_firm(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    data: FirmCreate,
    confirm: Annotated[bool, Query(description="add it although a similar firm exists")] = False,
    key: IdempotencyKey = None,
) -> FirmPublic:
    # the key is bound to this request: its path, the firm and the flag (crm.submissions)
    content = {"firm": data, "confirm": confirm}
    claim(session, user, key, method=request.method, path=request.url.path, content=content)
    firm = service.create_firm(session, user, data, confirm=confirm)
    settle(session, user, key, f"/api/v1/firms/{firm.id}")
    return service.to_public(session, firm)


@router.get("/firms/{firm_id:id}", response_model=FirmPublic, summary="One firm")
def get_firm(session: SessionDep, user: ApiUser, firm_id: IdPath) -> FirmPublic:
    return service.to_public(session, service.get_firm(session, user, firm_id))


@router.patch("/firms/{firm_id:id}", response_model=FirmPublic, summary="Change a firm")
def update_firm(
    session: SessionDep, user: ApiUser, firm_id: IdPath, data: FirmUpdate
) -> FirmPublic:
    return service.to_public(session, service.update_firm(session, user, firm_id, data))


@router.delete(
    "/firms/{firm_id:id}",
    status_code=204,
    response_class=Response,
    summary="Remove a firm nothing refers to (managers and admins)",
)
def delete_firm(session: SessionDep, user: ApiUser, firm_id: IdPath, version: VersionQuery) -> None:
    service.delete_firm(session, user, firm_id, version)


@router.get("/firms/{firm_id:id}/contacts", response_model=ContactPage, summary="A firm's contacts")
def list_contacts(
    session: SessionDep, user: ApiUser, firm_id: IdPath, limit: Limit = 50, offset: Offset = 0
) -> ContactPage:
    rows, total = service.list_contacts_page(session, user, firm_id, limit, offset)
    return ContactPage(
        items=rows_as(ContactPublic, rows),
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/firms/{firm_id:id}/contacts",
    response_model=ContactPublic,
    status_code=201,
    summary="Add a contact to a firm",
)
def create_contact(
    request: Request,
    session: SessionDep,
    user: ApiUser,
    firm_id: IdPath,
    data: ContactCreate,
    key: IdempotencyKey = None,
) -> ContactPublic:
    claim(session, user, key, method=request.method, path=request.url.path, content=data)
    contact = service.create_contact(session, user, firm_id, data)
    settle(session, user, key, f"/api/v1/contacts/{contact.id}")
    return row_as(ContactPublic, contact)


class ContactRow(ContactPublic):
    firm: str = Field(description="the firm's name (English for an English reader, if it has one)")


class ContactList(Page[ContactRow]):
    pass


class ContactQuery(ListQuery):
    q: QText(100, "name, title, phone, email or firm name") = None
    firm_id: IdQuery = None
    sort: QText(20, "name, firm or updated; -name for descending") = None
    format: Fmt = "json"


@list_route(
    router,
    "/contacts",
    ContactList,
    "List and search every firm's contacts",
    "`q` matches the name, title, phone, email or the firm's names; `sort` is "
    "`name`, `firm` or `updated` (`-` first: descending). `format=xlsx` (or `Accept: "
    + XLSX
    + "`): every matching contact as Excel.",
)
def list_all_contacts(
    request: Request, session: SessionDep, user: ApiUser, query: Annotated[ContactQuery, Query()]
) -> Any:
    lang = getattr(user, "language", None) or "zh_CN"
    f = ContactFilters(
        q=query.q,
        firm_id=query.firm_id,
        sort=parse_sort(query.sort, ("name", "firm", "updated")),
        lang=lang,
    )
    if wants_xlsx(request, query.format):
        rows, _ = contacts_service.list_all_contacts(session, user, f, limit=EXPORT_LIMIT)
        items = contacts_service.contact_rows(rows, lang)
        return list_workbook(session, user, "contacts", items, vars(f))
    rows, total = contacts_service.list_all_contacts(
        session, user, f, limit=query.limit, offset=query.offset
    )
    return ContactList(
        items=[
            ContactRow(
                **row_as(ContactPublic, c).model_dump(),
                firm=(en or zh) if lang == "en" else zh,
            )
            for c, zh, en in rows
        ],
        total=total,
        limit=query.limit,
        offset=query.offset,
    )


@router.get("/contacts/{contact_id:id}", response_model=ContactPublic, summary="One contact")
def get_contact(session: SessionDep, user: ApiUser, contact_id: IdPath) -> ContactPublic:
    return row_as(ContactPublic, service.get_contact(session, user, contact_id))


@router.patch("/contacts/{contact_id:id}", response_model=ContactPublic, summary="Change a contact")
def update_contact(
    session: SessionDep, user: ApiUser, contact_id: IdPath, data: ContactUpdate
) -> ContactPublic:
    return row_as(ContactPublic, service.update_contact(session, user, contact_id, data))


@router.delete(
    "/contacts/{contact_id:id}",
    status_code=204,
    response_class=Response,
    summary="Remove a contact",
)
def delete_contact(
    session: SessionDep, user: ApiUser, contact_id: IdPath, version: VersionQuery
) -> None:
    service.delete_contact(session, user, contact_id, version)


# --- merge ------------------------------------------------------------------------------------


class MergeIn(InputModel):  # an unknown field is refused (422), not ignored
    other_id: Id = Field(description="the firm merged into this one (it is removed)")
    choices: dict[str, Literal["survivor", "other"]] = Field(
        default_factory=dict,
        max_length=20,
        description="per field, whose value the merged firm keeps (default: this firm's, or the "
        "other's where this firm's is blank)",
    )
    version: Id = Field(description="this firm's version (a stale one: 409, nothing merged)")
    other_version: Id = Field(description="the other firm's version")


class HoldingsOut(merge.Holdings):
    pass


class MergePreview(BaseModel):
    survivor: FirmPublic
    other: FirmPublic
    survivor_holds: HoldingsOut
    other_holds: HoldingsOut
    differing: list[str]


class MergeOut(BaseModel):
    merge_id: int = Field(description="the audit record; POST /firms/merges/{merge_id}/undo")
    firm: FirmPublic


@router.get(
    "/firms/{firm_id:id}/merge",
    response_model=MergePreview,
    summary="Side by side: what merging another firm into this one would move",
)
def merge_preview(
    session: SessionDep, user: ApiUser, firm_id: IdPath, other_id: IdQuery
) -> MergePreview:
    require_manager(user)
    if other_id is None:
        raise ValidationFailed(_l("other_id 必填"), field="other_id")
    a, b = merge.merge_pair(session, user, firm_id, other_id)
    return MergePreview(
        survivor=service.to_public(session, a),
        other=service.to_public(session, b),
        survivor_holds=HoldingsOut(**merge.holdings(session, firm_id).model_dump()),
        other_holds=HoldingsOut(**merge.holdings(session, other_id).model_dump()),
        differing=merge.differing_fields(a, b),
    )


@router.post(
    "/firms/{firm_id:id}/merge",
    response_model=MergeOut,
    summary="Merge another firm into this one (managers, admins)",
    description="Contacts, projects (with their history and capital arrivals), activities, "
    "follow-ups and subsidiaries move to this firm; the other's names become aliases; the other "
    "is removed. One audit record holds what undo needs.",
)
def merge_firms(session: SessionDep, user: ApiUser, firm_id: IdPath, data: MergeIn) -> MergeOut:
    rec = merge.merge_firms(
        session,
        user,
        firm_id,
        data.other_id,
        dict(data.choices),
        survivor_version=data.version,
        other_version=data.other_version,
    )
    session.flush()
    return MergeOut(
        merge_id=rec.id, firm=service.to_public(session, service.get_firm(session, user, firm_id))
    )


@router.post(
    "/firms/merges/{merge_id:id}/undo",
    response_model=FirmPublic,
    summary="Undo a merge while nothing it moved has changed",
)
def undo_merge(session: SessionDep, user: ApiUser, merge_id: IdPath) -> FirmPublic:
    return service.to_public(session, unmerge.undo_merge(session, user, merge_id))
