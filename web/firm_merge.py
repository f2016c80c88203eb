"""Merging two records of one firm (managers, admins): pick the other firm, see side by side
what each holds, choose field by field, merge; undo from the banner or the audit record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import RedirectResponse, Response

from crm.authz import require_manager
from crm.errors import CRMError
from crm.firms.duplicates import check_firm
from crm.firms.merge import (
    CHOOSABLE,
    differing_fields,
    holdings,
    merge_firms,
    merge_pair,
    merge_start,
    reference_names,
)
from crm.firms.service import firm_aliases, search_firms
from crm.firms.unmerge import undo_merge
from crm.i18n import _l
from web import forms
from web.forms import FormBody, FormRejected
from web.visit import PageVisit, Visit

router = APIRouter(prefix="/firms", include_in_schema=False)

Q = Annotated[str | None, Query(max_length=100)]
IdQ = Annotated[int | None, Query(ge=1, le=2**31 - 1)]

LABELS = {
    "name_zh": "中文名称",
    "name_en": "英文名称",
    "country": "国家或地区",
    "headquarters": "总部",
    "global500_rank": "世界500强排名",
    "china500_rank": "中国500强排名",
    "is_leader": "行业龙头",
    "website": "网站",
    "credit_code": "统一社会信用代码",
    "parent_id": "所属集团",
    "owner_id": "负责人",
    "notes": "备注",
}


def _ctx(visit: PageVisit, firm_id: int, other_id: int | None, q: str | None):
    firm = merge_start(visit.session, visit.user, firm_id)
    ctx: dict = {"nav": "firms", "firm": firm, "labels": LABELS, "q": q or "", "error": None}
    if other_id is None:
        names = [firm.name_zh, firm.name_en, *firm_aliases(visit.session, [firm_id])[firm_id]]
        ctx["suggested"] = check_firm(visit.session, names, exclude_id=firm_id).all[:10]
        ctx["found"] = (
            [f for f in search_firms(visit.session, visit.user, q, limit=20) if f.id != firm_id]
            if q
            else []
        )
        return ctx
    firm, other = merge_pair(visit.session, visit.user, firm_id, other_id)
    ctx.update(
        firm=firm,
        other=other,
        fields=CHOOSABLE,
        differing=differing_fields(firm, other),
        holds=holdings(visit.session, firm_id),
        other_holds=holdings(visit.session, other_id),
        names=reference_names(visit.session, firm, other),
    )
    return ctx


def _int(v: int | str | None) -> int | None:
    return v if isinstance(v, int) else None


@router.get("/{firm_id:id}/merge")
def merge_page(
    visit: Visit,
    firm_id: int,
    other: IdQ = None,
    q: Q = None,
) -> Response:
    require_manager(visit.user)
    return visit.render("firms/merge.html", _ctx(visit, firm_id, other, q))


@router.post("/{firm_id:id}/merge")
def merge_submit(form: FormBody, visit: Visit, firm_id: int) -> Response:
    require_manager(visit.user)
    other_id = forms.integer(form, "other_id")
    keep = forms.text(form, "keep") or "this"
    if not isinstance(other_id, int):  # no second firm chosen: the picker, with the reason
        ctx = _ctx(visit, firm_id, None, None)
        ctx["error"] = forms.pick(visit.request, _l("请先选择要合并的另一家企业"))
        raise FormRejected(visit.render("firms/merge.html", ctx, status_code=422))
    survivor, other = (firm_id, other_id) if keep == "this" else (other_id, firm_id)
    choices = {}
    for f in CHOOSABLE:
        v = forms.text(form, f"choice_{f}")
        if v in ("this", "that"):
            # "this" is the firm the page is about; the service speaks of survivor / other
            choices[f] = "survivor" if (v == "this") == (survivor == firm_id) else "other"
    try:
        rec = merge_firms(
            visit.session,
            visit.user,
            survivor,
            other,
            choices,
            survivor_version=_int(forms.integer(form, f"version_{survivor}")),
            other_version=_int(forms.integer(form, f"version_{other}")),
        )
    except CRMError as exc:
        if exc.status in (403, 404):
            raise
        ctx = _ctx(visit, firm_id, other_id, None)
        ctx["error"] = forms.pick(visit.request, exc.message)
        raise FormRejected(visit.render("firms/merge.html", ctx, status_code=409)) from exc
    visit.session.flush()
    return RedirectResponse(f"/firms/{survivor}?merged={rec.id}", status_code=303)


@router.post("/merges/{merge_id:id}/undo")
def undo_submit(visit: Visit, merge_id: int) -> Response:
    firm = undo_merge(visit.session, visit.user, merge_id)
    return RedirectResponse(f"/firms/{firm.id}", status_code=303)
