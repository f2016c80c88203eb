"""Firm list pages: the list with filters and search-as-you-type, its export, and the pickers
the firm form asks while the user types (similar names, the parent group).

The firm's own pages are in ``web/firm_form.py`` (add, edit), ``web/firm_page.py`` (the page,
its timeline, logging a contact) and ``web/firm_contacts.py`` (its contacts)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from markupsafe import Markup, escape

from crm.accounts.service import user_choices
from crm.authz import is_manager
from crm.firms.export import export_filename, export_firms
from crm.firms.queries import FIRM_SORTS
from crm.firms.service import (
    FirmFilters,
    find_similar,
    list_firms,
    search_firms,
)
from crm.firms.views import FirmRow, countries, firm_names, list_rows
from crm.policy.service import plan_lists
from crm.sorting import parse_sort
from crm.types import utcnow
from crm.vocabulary import Tier, values
from server.download import download
from server.page_input import known_choice
from web import forms
from web.bulk import bulk_context
from web.render import cluster_labels, templates_for
from web.visit import Visit

router = APIRouter(prefix="/firms", include_in_schema=False)

PAGE_SIZE = 50
COUNT_CAP = 10_000
TIERS = values(Tier)


Q = Annotated[str | None, Query(max_length=100)]


class ListRow:
    """A firm list row as the template prints it: its values read once, the tier badge, the
    cluster chips and the date already made. Read through the firm on each use, with a macro
    call, a filter and a loop of chips per row, the rows were three quarters of the page's
    rendering (50 rows a page; the list and its searches are 40 % of an office's requests)."""

    __slots__ = ("chips", "country", "id", "name_en", "name_zh", "owner", "tier", "updated")

    def __init__(self, row: FirmRow, tier: Markup, labels: dict[str, str], local: Any) -> None:
        f = row.firm
        self.id = f.id
        self.name_zh = f.name_zh
        self.name_en = f.name_en
        self.tier = tier
        self.country = f.country or "—"
        self.chips = (
            Markup("".join(_chip(labels[code]) for code in row.clusters))
            if row.clusters
            else _NO_CHIP
        )
        self.owner = row.owner_name or "—"
        self.updated = local(f.updated_at, "%Y-%m-%d")


_NO_CHIP = Markup('<span class="muted">—</span>')


def _chip(label: str) -> str:
    text = escape(label)
    return f'<span class="chip" title="{text}">{text}</span>'


def list_view(rows: list[FirmRow], lang: str, labels: dict[str, str]) -> list[ListRow]:
    env = templates_for(lang).env
    tier_badge_of, local = env.globals["tier_badge_of"], env.filters["local"]
    return [ListRow(r, tier_badge_of(r.firm), labels, local) for r in rows]


async def firm_filters(
    visit: Visit,
    q: Q = None,
    cluster: Q = None,
    tier: Q = None,
    country: Q = None,
    owner: Q = None,
    sort: Q = None,
) -> FirmFilters:
    """The list's filters from the query string: the list and its export read the same ones
    (no I/O: on the event loop)."""
    return FirmFilters(
        q=(q or "").strip()[:100] or None,
        cluster=cluster or None,
        tier=known_choice(tier, TIERS, "tier"),
        country=country or None,
        owner_id=forms.query_int(owner),
        sort=parse_sort(sort, FIRM_SORTS),
        lang=visit.lang,
    )


Filters = Annotated[FirmFilters, Depends(firm_filters)]


@router.get("")
def firm_list(
    visit: Visit, f: Filters, page: Annotated[int, Query(ge=1, le=10_000)] = 1
) -> Response:
    firms, total = list_firms(
        visit.session,
        visit.user,
        f,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
        count_cap=COUNT_CAP,
        columns=True,  # rows as the page reads them, no entities
    )
    params = {
        k: v
        for k, v in (
            ("q", f.q),
            ("cluster", f.cluster),
            ("tier", f.tier),
            ("country", f.country),
            ("owner", f.owner_id),
            ("sort", f.sort.param if f.sort else None),
        )
        if v
    }
    lang = visit.lang
    labels = cluster_labels(plan_lists(visit.session).clusters, lang)
    ctx: dict[str, Any] = {
        "nav": "firms",
        "rows": list_view(list_rows(visit.session, visit.user, firms), lang, labels),
        "total": total,
        "capped": total > COUNT_CAP,
        "page": page,
        "page_size": PAGE_SIZE,
        "has_next": page * PAGE_SIZE < total,
        "filters": f,
        "params": params,
        "query": urlencode(params),
        "sort": f.sort,
        "sort_query": urlencode({k: v for k, v in params.items() if k != "sort"}),
        "filtered": bool({k for k in params if k != "sort"}),
        "cluster_names": {c.code: c for c in plan_lists(visit.session).clusters},
        "bulk": is_manager(visit.user),  # rows to select for reassignment (web/bulk.py)
    }
    if not visit.htmx:
        if ctx["bulk"]:
            ctx.update(bulk_context(visit, "firm"))
        ctx.update(
            clusters=list(ctx["cluster_names"].values()),
            countries=countries(visit.session),
            owners=user_choices(visit.session, visit.user),
        )
    headers = {"Vary": "HX-Request"}
    return visit.render("firms/list.html", ctx, block="results", headers=headers)


@router.get("/export.xlsx")
def firm_export(visit: Visit, f: Filters) -> Response:
    return download(export_firms(visit.session, visit.user, f), export_filename(utcnow()))


@router.get("/similar")
def similar(
    visit: Visit,
    name_zh: Q = None,
    name_en: Q = None,
    exclude: Q = None,
) -> Response:
    """As the user types a name: existing firms that look like it (before anything is saved)."""
    exclude_id = forms.query_int(exclude)
    cands = []
    for name in (name_zh, name_en):
        if name and name.strip():
            cands += [
                c
                for c in find_similar(visit.session, name.strip(), exclude_id=exclude_id)
                if c.id not in {x.id for x in cands}
            ]
    return visit.render("firms/_similar.html", {"candidates": cands[:5]})


@router.get("/parents")
def parent_options(
    visit: Visit,
    parent_q: Q = None,
    parent_id: Q = None,
    exclude: Q = None,
) -> Response:
    """The parent-group picker: the chosen parent first, then firms matching ``parent_q``."""
    current = forms.query_int(parent_id)
    options = []
    if current:
        options = [(current, firm_names(visit.session, {current}).get(current, ""))]
    if parent_q and parent_q.strip():
        options += [
            (f.id, f.name_zh)
            for f in search_firms(visit.session, visit.user, parent_q, limit=8)
            if f.id != current and str(f.id) != exclude
        ]
    return visit.render(
        "firms/_parents.html",
        {"options": options, "current": current, "searched": bool(parent_q)},
    )
