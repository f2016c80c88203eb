"""The policy pack for administrators (SPEC §4): the loaded pack's version and content, and
loading a new pack — with a preview of what will change before it is applied."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from starlette.exceptions import HTTPException

from crm.authz import require_admin
from crm.config import get_settings
from crm.errors import CRMError, ValidationFailed
from crm.i18n import _l
from crm.models.policy import ChainLink, PolicyPack
from crm.policy.pack import Pack, parse_pack
from crm.policy.preview import preview_pack
from crm.policy.service import list_clusters, list_parks, load_pack, plan_targets
from server.deps import SessionDep
from web import forms
from web.forms import FormRejected
from web.render import render
from web.visit import PageVisit, Visit

router = APIRouter(prefix="/admin/policy")
MAX_PACK = 2 * 1024 * 1024


def _ctx(session: SessionDep, **kw: object) -> dict[str, object]:
    link_counts = dict(
        session.execute(
            select(ChainLink.cluster_id, func.count()).group_by(ChainLink.cluster_id)
        ).all()
    )
    return {
        "nav": "admin",
        "sub": "policy",
        "packs": list(session.scalars(select(PolicyPack).order_by(PolicyPack.code))),
        "clusters": list_clusters(session),
        "parks": list_parks(session),
        "targets": sorted(plan_targets(session).values(), key=lambda t: t.code),
        "link_counts": link_counts,
        "preview": None,
        "pack_text": "",
        "error": None,
        **kw,
    }


@router.get("", include_in_schema=False)
def policy_page(visit: Visit, loaded: int = 0) -> Response:
    require_admin(visit.user)
    return visit.render("admin/policy.html", _ctx(visit.session, loaded=bool(loaded)))


async def _read_pack(request: Request, field_limit: int = 1024 * 1024) -> tuple[str, Pack]:
    """The pack the admin sent (an upload, or pasted text) and its reading."""
    text = await _pack_text(request, field_limit)
    return text, parse_pack(text)


def _refused(request: Request, session: SessionDep, exc: CRMError) -> FormRejected:
    """The policy page again with why the pack was refused; nothing loaded."""
    ctx = _ctx(session, error=forms.pick(request, exc.message))
    return FormRejected(render(request, "admin/policy.html", ctx, status_code=422))


async def _pack_text(request: Request, field_limit: int) -> str:
    try:
        form = await request.form(max_part_size=field_limit)
    except HTTPException as exc:
        # Starlette refuses a form field over 1 MB with a bare English 400; a pasted pack that
        # big is answered on the page instead (an upload has no such limit, only MAX_PACK)
        if exc.status_code != 400:
            raise
        raise ValidationFailed(
            _l("政策包文本太大（最多 1 MB），请改为上传文件"), field="pack_text"
        ) from exc
    upload = form.get("file")
    if upload is not None and not isinstance(upload, str) and upload.filename:
        raw = await upload.read(MAX_PACK + 1)
        if len(raw) > MAX_PACK:
            raise ValidationFailed(_l("文件太大"), field="pack")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(_l("文件不是 UTF-8 文本"), field="pack") from exc
    text = forms.text(form, "pack_text") or ""  # type: ignore[arg-type]
    if len(text.encode("utf-8")) > MAX_PACK:
        raise ValidationFailed(_l("文件太大"), field="pack")
    if not text:
        raise ValidationFailed(_l("请选择政策包文件"), field="pack")
    return text


# the pack is read on the event loop (its body arrives there); everything that reads or writes
# the database runs in a worker thread, as a plain ``def`` route's body does: a wait for a lock
# there never blocks the loop, which other requests — and the lock holder's commit — need


@router.post("/preview", include_in_schema=False)
async def preview(visit: Visit) -> Response:
    require_admin(visit.user)
    try:
        text, pack = await _read_pack(visit.request)
    except CRMError as exc:
        return await run_in_threadpool(_refuse, visit, exc)
    return await run_in_threadpool(_previewed, visit, text, pack)


def _previewed(visit: PageVisit, text: str, pack: Pack) -> Response:
    try:
        result = preview_pack(visit.session, visit.user, pack)
    except CRMError as exc:
        raise _refused(visit.request, visit.session, exc) from exc
    return visit.render("admin/policy.html", _ctx(visit.session, preview=result, pack_text=text))


def _refuse(visit: PageVisit, exc: CRMError) -> Response:
    raise _refused(visit.request, visit.session, exc) from exc


@router.post("/apply", include_in_schema=False)
async def apply(visit: Visit) -> Response:
    require_admin(visit.user)
    try:
        # the preview's hidden copy of an uploaded pack (up to MAX_PACK, percent-encoded): the
        # request body limit bounds it, not Starlette's 1 MB a field
        _, pack = await _read_pack(visit.request, get_settings().max_body_bytes)
    except CRMError as exc:
        return await run_in_threadpool(_refuse, visit, exc)
    return await run_in_threadpool(_applied, visit, pack)


def _applied(visit: PageVisit, pack: Pack) -> Response:
    try:
        with visit.session.begin_nested():
            load_pack(visit.session, pack, actor_id=visit.user.id)
    except CRMError as exc:
        raise _refused(visit.request, visit.session, exc) from exc
    return RedirectResponse("/admin/policy?loaded=1", status_code=303)
