"""Firm list pages: the list with filters and search-as-you-type, its export, and the pickers
the firm form asks while the user types (similar names, the parent group).

The firm's own pages are in ``web/firm_form.py`` (add, edit), ``web/firm_page.py`` (the page,
its timeline, logging a contact) and ``web/firm_contacts.py`` (its contacts)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from markupsafe import Markup

from crm.accounts.service import user_choices
from crm.authz import is_manager
from crm.clock import local_tz
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
from web.html import esc
from web.render import cluster_labels, templates_for
from web.visit import Visit

router = APIRouter(prefix="/firms", include_in_schema=False)

PAGE_SIZE = 50
COUNT_CAP = 10_000
TIERS = values(Tier)


Q = Annotated[str | None, Query(max_length=100)]


# one row of the list, as the page prints it (the same markup the template's row loop wrote):
# the list and its searches are 40 % of an office's requests, and 50 rows of ten template
# expressions each (an escape and a Markup per value) were a quarter of the page's rendering;
# each value is escaped as a plain string (web.html.esc) and the row written by an f-string
_NO_CHIP = '<span class="muted">—</span>'
_DASH = "—"


def _chip(label: str) -> str:
    text = esc(label)
    return f'<span class="chip" title="{text}">{text}</span>'


class _Chips(dict[tuple[str, ...], str]):
    """A row's chips by its cluster codes, made on first use (a code without a label shows
    itself): the page's rows share few sets of clusters."""

    def __init__(self, labels: dict[str, str]) -> None:
        super().__init__()
        self.labels = labels

    def __missing__(self, codes: tuple[str, ...]) -> str:
        chips = self[codes] = "".join([_chip(self.labels[c]) for c in codes]) or _NO_CHIP
        return chips


# a row's date, by the stored instant: the rows a page shows again (the landing page, a
# search typed again) are dated without a time-zone conversion each
_DAYS: dict[tuple[Any, datetime], str] = {}


def _local_day(at: datetime | None, tz: Any = None) -> str:
    if at is None:
        return ""
    key = (tz or local_tz(), at)
    day = _DAYS.get(key)
    if day is None:
        if len(_DAYS) > 8192:
            _DAYS.clear()
        day = _DAYS[key] = at.astimezone(key[0]).strftime("%Y-%m-%d")
    return day


def rows_html(rows: list[FirmRow], lang: str, labels: dict[str, str], bulk: bool) -> Markup:
    """The list's rows: each value escaped once, the tier badge kept per tier and rank, the
    cluster chips made once per page and set of clusters."""
    env = templates_for(lang).env
    tier_badge_of = env.globals["tier_badge_of"]
    select = esc(env.globals["_"]("选择")) if bulk else ""
    chips = _Chips(labels)
    tz = local_tz()
    out = []
    for row in rows:
        f = row.firm
        fid = f.id
        name_zh = esc(f.name_zh)
        sel = (
            f'<td class="sel"><input type="checkbox" name="ids" value="{fid}" '
            f'form="bulk-reassign" aria-label="{select} {name_zh}"></td>'
            if bulk
            else ""
        )
        name_en = f'<div class="muted small">{esc(f.name_en)}</div>' if f.name_en else ""
        country = esc(f.country) if f.country else _DASH
        owner = esc(row.owner_name) if row.owner_name else _DASH
        out.append(
            f"\n      <tr>\n        {sel}\n"
            f'        <td><a class="firm-name" href="/firms/{fid}">{name_zh}</a>\n'
            f"          {name_en}</td>\n"
            f"        <td>{tier_badge_of(f)}</td>\n"
            f"        <td>{country}</td>\n"
            f'        <td><div class="chips">{chips[tuple(row.clusters)]}</div></td>\n'
            f"        <td>{owner}</td>\n"
            f'        <td class="muted nowrap">{_local_day(f.updated_at, tz)}</td>\n'
            "      </tr>\n    "
        )
    return Markup("".join(out))


def _options(choices: Iterable[tuple[Any, Any]], chosen: str | None) -> Markup:
    """A filter's ``<option>``s of (value, label) as the form's loop wrote them, the chosen one
    marked: the clusters and the countries of every list page, built in one pass (a template
    loop and a macro call per option before)."""
    return Markup(
        "".join(
            f'<option value="{esc(value)}" {"selected" if value == chosen else ""}>'
            f"{esc(label)}</option>"
            for value, label in choices
        )
    )


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
    bulk = is_manager(visit.user)
    ctx: dict[str, Any] = {
        "nav": "firms",
        "rows": rows_html(list_rows(visit.session, visit.user, firms), lang, labels, bulk),
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
        "bulk": bulk,  # rows to select for reassignment (web/bulk.py)
    }
    if not visit.htmx:
        if ctx["bulk"]:
            ctx.update(bulk_context(visit, "firm"))
        en = lang == "en"
        ctx.update(
            cluster_options=_options(
                ((c.code, c.name_en if en else c.name_zh) for c in ctx["cluster_names"].values()),
                f.cluster,
            ),
            country_options=_options(((c, c) for c in countries(visit.session)), f.country),
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
