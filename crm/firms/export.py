"""The firm list (with the list page's filters) as an Excel workbook."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.audit.service import record
from crm.clock import to_local
from crm.db import grouped
from crm.exports import VALUES, Cells, label, workbook
from crm.firms.queries import firm_order
from crm.firms.service import FirmFilters, firm_list_statement
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster

MAX_ROWS = 200_000
_parent = aliased(Firm)
# the columns: field (headed in the reader's language by crm.exports.LABELS, the same map the
# firm import reads back in either language), width, and the value: a column of the list's
# query, or None for the firm's aliases and clusters (lists read beside it)
COLUMNS: list[tuple[str, int, Any]] = [
    ("id", 8, Firm.id),
    ("name_zh", 28, Firm.name_zh),
    ("name_en", 28, Firm.name_en),
    ("aliases", 24, None),
    ("tier", 10, Firm.tier),
    ("global500_rank", 12, Firm.global500_rank),
    ("china500_rank", 12, Firm.china500_rank),
    ("is_leader", 8, Firm.is_leader),
    ("country", 12, Firm.country),
    ("headquarters", 16, Firm.headquarters),
    ("clusters", 18, None),
    ("owner", 10, User.display_name),
    ("parent", 24, _parent.name_zh),
    ("website", 28, Firm.website),
    ("credit_code", 22, Firm.credit_code),
    ("updated_at", 17, Firm.updated_at),
]


def export_firms(session: Session, actor: User, filters: FirmFilters) -> bytes:
    """Every firm matching ``filters`` (up to MAX_ROWS) as .xlsx in the reader's language
    (``filters.lang``: headers, tiers, cluster names; the firm import reads either back), ranks
    as numbers, times in local time. Writes one audit row naming the filters."""
    en = filters.lang == "en"
    base = firm_list_statement(filters)
    ids = base.with_only_columns(Firm.id)
    stmt = (
        base.with_only_columns(*(v for _, _, v in COLUMNS if v is not None))
        .outerjoin(User, User.id == Firm.owner_id)
        .outerjoin(_parent, _parent.id == Firm.parent_id)
        .order_by(*firm_order(filters))
        .limit(MAX_ROWS)
    )
    lists: dict[str, dict[int, list[str]]] = {
        "clusters": grouped(
            session,
            select(FirmCluster.firm_id, Cluster.name_en if en else Cluster.name_zh)
            .join(Cluster, Cluster.id == FirmCluster.cluster_id)
            .where(FirmCluster.firm_id.in_(ids))
            .order_by(Cluster.sort_order),
        ),
        "aliases": grouped(
            session,
            select(FirmAlias.firm_id, FirmAlias.alias)
            .where(FirmAlias.firm_id.in_(ids))
            .order_by(FirmAlias.id),
        ),
    }

    buf = io.BytesIO()
    wb = workbook(buf)
    ws = wb.add_worksheet("Firms" if en else "企业")
    head = wb.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    # lists: "、" in Chinese; "; " in English, where a name may hold a comma ("Co., Ltd.")
    cells = Cells(wb, ws, filters.lang, sep="; " if en else "、")
    for col, (f, width, _) in enumerate(COLUMNS):
        ws.write_string(0, col, label(f, filters.lang), head)
        ws.set_column(col, col, width)
    ws.freeze_panes(1, 0)
    n = 0
    for n, row in enumerate(session.execute(stmt), start=1):
        fid, values = row[0], iter(row)
        for col, (f, _, v) in enumerate(COLUMNS):
            value = next(values) if v is not None else lists[f].get(fid, [])
            cells.write(n, col, value, VALUES.get(f))
    ws.autofilter(0, 0, max(n, 1), len(COLUMNS) - 1)
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


def export_filename(now: datetime) -> str:
    return f"firms-{to_local(now):%Y%m%d-%H%M}.xlsx"
