"""``crm export DIR``: the database as one .xlsx per kind, in the import's own column names, so
importing the folder (firms, then contacts, then projects) into an empty instance that has the
same users, departments and policy pack reproduces them. The policy pack goes beside them.

What the import cannot take yet (activities, follow-ups, a project's full stage history,
capital arrivals) is not written here.
"""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.accounts.models import Department, User
from crm.exports import to_xlsx
from crm.firms.models import Contact, Firm, FirmAlias, FirmCluster
from crm.policy.models import ChainLink, Cluster, Park
from crm.policy.pack import DEFAULT_PACK
from crm.projects.models import Project

STAGE_ZH = {
    "lead": "线索",
    "contacted": "已接触",
    "negotiating": "洽谈",
    "signed": "签约",
    "landed": "落地",
    "operating": "投产",
    "lost": "流失",
}
FIRM_COLUMNS = [
    "企业名称",
    "英文名称",
    "别名",
    "国家或地区",
    "总部",
    "世界500强排名",
    "中国500强排名",
    "行业龙头",
    "网站",
    "统一社会信用代码",
    "产业集群",
    "母公司",
    "负责人",
    "备注",
]
CONTACT_COLUMNS = ["企业名称", "姓名", "职务", "电话", "邮箱", "微信", "备注"]
PROJECT_COLUMNS = [
    "企业名称",
    "项目名称",
    "产业集群",
    "园区",
    "产业链环节",
    "阶段",
    "流失原因",
    "计划投资（亿元）",
    "预计年产值（亿元）",
    "预计就业",
    "预计签约日期",
    "预计落地日期",
    "预计投产日期",
    "负责人",
    "部门",
    "保密",
    "代号",
    "备注",
]


def _firm_rows(session: Session) -> list[list[object]]:
    aliases: dict[int, list[str]] = {}
    for fid, a in session.execute(
        select(FirmAlias.firm_id, FirmAlias.alias).order_by(FirmAlias.id)
    ):
        aliases.setdefault(fid, []).append(a)
    clusters: dict[int, list[str]] = {}
    for fid, code in session.execute(
        select(FirmCluster.firm_id, Cluster.code)
        .join(Cluster, Cluster.id == FirmCluster.cluster_id)
        .order_by(Cluster.sort_order)
    ):
        clusters.setdefault(fid, []).append(code)
    parent = aliased(Firm)
    rows = []
    # parents before their subsidiaries (the import looks a parent up by name)
    stmt = (
        select(Firm, parent.name_zh, User.username)
        .outerjoin(parent, parent.id == Firm.parent_id)
        .outerjoin(User, User.id == Firm.owner_id)
        .order_by(Firm.parent_id.is_not(None), Firm.id)
    )
    for f, parent_name, owner in session.execute(stmt):
        rows.append(
            [
                f.name_zh,
                f.name_en,
                "；".join(aliases.get(f.id, [])),
                f.country,
                f.headquarters,
                f.global500_rank,
                f.china500_rank,
                "是" if f.is_leader else "",
                f.website,
                f.credit_code,
                "、".join(clusters.get(f.id, [])),
                parent_name,
                owner,
                f.notes,
            ]
        )
    return rows


def _contact_rows(session: Session) -> list[list[object]]:
    return [
        [firm, c.name, c.title, c.phone, c.email, c.wechat, c.notes]
        for c, firm in session.execute(
            select(Contact, Firm.name_zh)
            .join(Firm, Firm.id == Contact.firm_id)
            .order_by(Contact.id)
        )
    ]


def _project_rows(session: Session) -> list[list[object]]:
    out = []
    stmt = (
        select(
            Project,
            Firm.name_zh,
            Cluster.code,
            Park.code,
            ChainLink.code,
            User.username,
            Department.code,
        )
        .join(Firm, Firm.id == Project.firm_id)
        .join(Cluster, Cluster.id == Project.cluster_id)
        .outerjoin(Park, Park.id == Project.park_id)
        .outerjoin(ChainLink, ChainLink.id == Project.chain_link_id)
        .outerjoin(User, User.id == Project.owner_id)
        .outerjoin(Department, Department.id == Project.department_id)
        .order_by(Project.created_at, Project.id)
    )
    for p, firm, cluster, park, link, owner, dept in session.execute(stmt):
        out.append(
            [
                firm,
                p.title,
                cluster,
                park,
                link,
                STAGE_ZH.get(p.stage, p.stage),
                p.lost_reason,
                p.planned_investment,
                p.expected_output,
                p.expected_jobs,
                p.expected_sign_date,
                p.expected_land_date,
                p.expected_operate_date,
                owner,
                dept,
                "是" if p.is_confidential else "",
                p.code_name,
                p.notes,
            ]
        )
    return out


def _cell(v: object) -> str | None:
    """Every value as the text a person would type (dates ISO, amounts without trailing
    zeros), so the import reads back exactly what was written."""
    if v is None or v == "":
        return None
    if isinstance(v, Decimal):
        t = format(v.normalize(), "f")
        return t
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def export_dir(session: Session, path: Path) -> dict[str, int]:
    """Write firms.xlsx, contacts.xlsx, projects.xlsx (import column names) and the policy
    pack into ``path``; rows per file."""
    path.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, columns, rows in (
        ("firms", FIRM_COLUMNS, _firm_rows(session)),
        ("contacts", CONTACT_COLUMNS, _contact_rows(session)),
        ("projects", PROJECT_COLUMNS, _project_rows(session)),
    ):
        text_rows = [[_cell(v) for v in r] for r in rows]
        (path / f"{name}.xlsx").write_bytes(to_xlsx(name, columns, text_rows, headers=columns))
        counts[name] = len(rows)
    shutil.copyfile(DEFAULT_PACK, path / "policy_pack.yaml")
    return counts
