"""The firm list (with the list page's filters) as an Excel workbook."""

from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.audit.service import record
from crm.clock import to_local
from crm.exports import label, workbook
from crm.firms.queries import firm_order
from crm.firms.service import FirmFilters, firm_list_statement
from crm.i18n import render
from crm.labels import TIERS
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster

MAX_ROWS = 200_000
# the columns, headed in the reader's language (crm.exports.LABELS: the same map the firm
# import reads back, in either language)
FIELDS = [
    "id",
    "name_zh",
    "name_en",
    "aliases",
    "tier",
    "global500_rank",
    "china500_rank",
    "is_leader",
    "country",
    "headquarters",
    "clusters",
    "owner",
    "parent",
    "website",
    "credit_code",
    "updated_at",
]
WIDTHS = [8, 28, 28, 24, 10, 12, 12, 8, 12, 16, 18, 10, 24, 28, 22, 17]


def export_firms(session: Session, actor: User, filters: FirmFilters) -> bytes:
    """Every firm matching ``filters`` (up to MAX_ROWS) as .xlsx in the reader's language
    (``filters.lang``: headers, tiers, cluster names; the firm import reads either back), ranks
    as numbers, times in local time. Writes one audit row naming the filters."""
    en = filters.lang == "en"
    base = firm_list_statement(filters)
    ids = base.with_only_columns(Firm.id)
    parent = aliased(Firm)
    stmt = (
        base.with_only_columns(
            Firm.id,
            Firm.name_zh,
            Firm.name_en,
            Firm.tier,
            Firm.global500_rank,
            Firm.china500_rank,
            Firm.is_leader,
            Firm.country,
            Firm.headquarters,
            User.display_name,
            parent.name_zh,
            Firm.website,
            Firm.credit_code,
            Firm.updated_at,
        )
        .outerjoin(User, User.id == Firm.owner_id)
        .outerjoin(parent, parent.id == Firm.parent_id)
        .order_by(*firm_order(filters))
        .limit(MAX_ROWS)
    )
    clusters: dict[int, list[str]] = {}
    for fid, name in session.execute(
        select(FirmCluster.firm_id, Cluster.name_en if en else Cluster.name_zh)
        .join(Cluster, Cluster.id == FirmCluster.cluster_id)
        .where(FirmCluster.firm_id.in_(ids))
        .order_by(Cluster.sort_order)
    ):
        clusters.setdefault(fid, []).append(name)
    aliases: dict[int, list[str]] = {}
    for fid, alias in session.execute(
        select(FirmAlias.firm_id, FirmAlias.alias)
        .where(FirmAlias.firm_id.in_(ids))
        .order_by(FirmAlias.id)
    ):
        aliases.setdefault(fid, []).append(alias)

    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet("Firms" if en else "企业")
    head = wb.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    # lists: "、" in Chinese; "; " in English, where a name may hold a comma ("Co., Ltd.")
    sep, yes = ("; ", "yes") if en else ("、", "是")
    tiers = {code: str(render(name, filters.lang)) for code, name in TIERS.items()}
    for col, (f, w) in enumerate(zip(FIELDS, WIDTHS, strict=True)):
        ws.write_string(0, col, label(f, filters.lang), head)
        ws.set_column(col, col, w)
    ws.freeze_panes(1, 0)
    n = 0
    for n, row in enumerate(session.execute(stmt), start=1):
        (
            fid,
            zh,
            en,
            tier,
            g500,
            c500,
            leader,
            country,
            hq,
            owner,
            parent_name,
            site,
            code,
            updated,
        ) = row
        ws.write_number(n, 0, fid)
        ws.write_string(n, 1, zh)
        _text(ws, n, 2, en)
        _text(ws, n, 3, sep.join(aliases.get(fid, [])))
        ws.write_string(n, 4, tiers.get(tier, tier))
        _num(ws, n, 5, g500)
        _num(ws, n, 6, c500)
        ws.write_string(n, 7, yes if leader else "")
        _text(ws, n, 8, country)
        _text(ws, n, 9, hq)
        _text(ws, n, 10, sep.join(clusters.get(fid, [])))
        _text(ws, n, 11, owner)
        _text(ws, n, 12, parent_name)
        _text(ws, n, 13, site)
        _text(ws, n, 14, code)
        local = to_local(updated)
        if local is not None:
            ws.write_datetime(n, 15, local.replace(tzinfo=None), when)
    ws.autofilter(0, 0, max(n, 1), len(FIELDS) - 1)
    wb.close()
    record(
        session,
        actor.id,
        "export",
        "firm",
        None,
        after={"rows": n, "filters": {k: v for k, v in vars(filters).items() if v}},
    )
    session.flush()
    return buf.getvalue()


def _text(ws, row: int, col: int, value: str | None) -> None:  # type: ignore[no-untyped-def]
    if value:
        ws.write_string(row, col, value)


def _num(ws, row: int, col: int, value: int | None) -> None:  # type: ignore[no-untyped-def]
    if value is not None:
        ws.write_number(row, col, value)


def export_filename(now: datetime) -> str:
    return f"firms-{to_local(now):%Y%m%d-%H%M}.xlsx"
