"""The firm list (with the list page's filters) as an Excel workbook."""

from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.audit.service import record
from crm.clock import to_local
from crm.exports import workbook
from crm.firms.queries import firm_order
from crm.firms.service import FirmFilters, firm_list_statement
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster

MAX_ROWS = 200_000
TIER_ZH = {"global500": "世界500强", "china500": "中国500强", "leader": "行业龙头", "other": "其他"}
HEADERS = [
    "编号",
    "中文名称",
    "英文名称",
    "别名",
    "层级",
    "世界500强排名",
    "中国500强排名",
    "行业龙头",
    "国家或地区",
    "总部",
    "产业集群",
    "负责人",
    "所属集团",
    "网站",
    "统一社会信用代码",
    "更新时间",
]
WIDTHS = [8, 28, 28, 24, 10, 12, 12, 8, 12, 16, 18, 10, 24, 28, 22, 17]


def export_firms(session: Session, actor: User, filters: FirmFilters) -> bytes:
    """Every firm matching ``filters`` (up to MAX_ROWS) as .xlsx: Chinese headers, ranks as
    numbers, times in local time. Writes one audit row naming the filters."""
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
        select(FirmCluster.firm_id, Cluster.name_zh)
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
    ws = wb.add_worksheet("企业")
    head = wb.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for col, (h, w) in enumerate(zip(HEADERS, WIDTHS, strict=True)):
        ws.write_string(0, col, h, head)
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
        _text(ws, n, 3, "、".join(aliases.get(fid, [])))
        ws.write_string(n, 4, TIER_ZH.get(tier, tier))
        _num(ws, n, 5, g500)
        _num(ws, n, 6, c500)
        ws.write_string(n, 7, "是" if leader else "")
        _text(ws, n, 8, country)
        _text(ws, n, 9, hq)
        _text(ws, n, 10, "、".join(clusters.get(fid, [])))
        _text(ws, n, 11, owner)
        _text(ws, n, 12, parent_name)
        _text(ws, n, 13, site)
        _text(ws, n, 14, code)
        local = to_local(updated)
        if local is not None:
            ws.write_datetime(n, 15, local.replace(tzinfo=None), when)
    ws.autofilter(0, 0, max(n, 1), len(HEADERS) - 1)
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
    return f"firms-{to_local(now):%Y%m%d-%H%M}.xlsx"  # type: ignore[str-format]
