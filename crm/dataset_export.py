"""``crm export DIR``: the whole database as one .xlsx per kind, so an office can move out and
back in.

- firms.xlsx, contacts.xlsx, projects.xlsx are in the import's own column names: each still
  goes through ``crm import`` into any instance (``crm/imports/``). They also carry the row's
  编号 and what the per-kind import derives or cannot take (times, actual dates, version …);
  the per-kind import ignores those columns (``crm/imports/reader.RESTORE_ONLY_HEADERS``).
- departments.xlsx, users.xlsx, stage_history.xlsx, capital.xlsx, activities.xlsx and
  followups.xlsx carry the rest, each row with its 编号 and its references as 编号 (or as a user
  name, a department / cluster / park code, a firm's name).
- policy_pack.yaml: the pack the instance runs.

``crm import-folder DIR`` (``crm/imports/folder.py``) reads the whole folder back into an empty
instance, rows keeping their 编号, so every table holds the same rows again.

Passwords: never in clear. users.xlsx carries each user's password *hash* (argon2) so people
keep their logins; ``with_password_hashes=False`` (``crm export --without-passwords``) leaves
it out, and such users come back with a password that matches nothing (an admin sets a new one).
Not exported: sessions, API tokens, calendar-feed tokens, login attempts, webhook URLs and
secrets (write-only), the outbox, notices, job runs and the audit trail (the restore writes one
audit record of its own), and the weekly rollups (rebuilt from the rows on restore).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter
from sqlalchemy import select
from sqlmodel import Session

from crm.db import grouped
from crm.models.accounts import Department, User
from crm.models.activities import (
    Activity,
    ActivityContact,
    ActivityFirm,
    ActivityOfficer,
    ActivityProject,
)
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster
from crm.models.followups import Followup
from crm.models.policy import ChainLink, Cluster, Park
from crm.models.projects import CapitalArrival, Project, StageChange
from crm.policy.pack import DEFAULT_PACK

STAGE_ZH = {
    "lead": "线索",
    "contacted": "已接触",
    "negotiating": "洽谈",
    "signed": "签约",
    "landed": "落地",
    "operating": "投产",
    "lost": "流失",
}


@dataclass(frozen=True)
class Col:
    """One column of an export file: its header, the table column it holds and how a value is
    written as text (``kind``): text, int, dec, date, dt (UTC ISO), bool (是/""), stage (中文),
    user (user name), dept / cluster / park / link (code), firm (name), ref (an exported 编号)."""

    header: str
    column: str
    kind: str = "text"


# the import's own headers first (crm/imports/{firms,contacts,projects}.py), then what only a
# whole-folder restore reads
FIRM_FILE = [
    Col("编号", "id", "int"),
    Col("企业名称", "name_zh"),
    Col("英文名称", "name_en"),
    Col("别名", "aliases", "aliases"),
    Col("国家或地区", "country"),
    Col("总部", "headquarters"),
    Col("世界500强排名", "global500_rank", "int"),
    Col("中国500强排名", "china500_rank", "int"),
    Col("行业龙头", "is_leader", "bool"),
    Col("网站", "website"),
    Col("统一社会信用代码", "credit_code"),
    Col("产业集群", "clusters", "clusters"),
    Col("母公司", "parent_id", "firm"),
    Col("负责人", "owner_id", "user"),
    Col("备注", "notes"),
    Col("来源", "source"),
    Col("创建时间", "created_at", "dt"),
    Col("更新时间", "updated_at", "dt"),
    Col("版本", "version", "int"),
]
CONTACT_FILE = [
    Col("编号", "id", "int"),
    Col("企业名称", "firm_id", "firm"),
    Col("姓名", "name"),
    Col("职务", "title"),
    Col("电话", "phone"),
    Col("邮箱", "email"),
    Col("微信", "wechat"),
    Col("备注", "notes"),
    Col("创建时间", "created_at", "dt"),
    Col("更新时间", "updated_at", "dt"),
    Col("版本", "version", "int"),
]
PROJECT_FILE = [
    Col("编号", "id", "int"),
    Col("企业名称", "firm_id", "firm"),
    Col("项目名称", "title"),
    Col("产业集群", "cluster_id", "cluster"),
    Col("园区", "park_id", "park"),
    Col("产业链环节", "chain_link_id", "link"),
    Col("阶段", "stage", "stage"),
    Col("流失原因", "lost_reason"),
    Col("计划投资（亿元）", "planned_investment", "dec"),
    Col("预计年产值（亿元）", "expected_output", "dec"),
    Col("预计就业", "expected_jobs", "int"),
    Col("预计签约日期", "expected_sign_date", "date"),
    Col("预计落地日期", "expected_land_date", "date"),
    Col("预计投产日期", "expected_operate_date", "date"),
    Col("负责人", "owner_id", "user"),
    Col("部门", "department_id", "dept"),
    Col("保密", "is_confidential", "bool"),
    Col("代号", "code_name"),
    Col("备注", "notes"),
    Col("实际就业", "actual_jobs", "int"),
    Col("实际签约日期", "actual_sign_date", "date"),
    Col("实际落地日期", "actual_land_date", "date"),
    Col("实际投产日期", "actual_operate_date", "date"),
    Col("撞单项目编号", "conflict_with_id", "ref"),
    Col("创建时间", "created_at", "dt"),
    Col("更新时间", "updated_at", "dt"),
    Col("阶段变更时间", "stage_changed_at", "dt"),
    Col("首次接触时间", "first_contact_at", "dt"),
    Col("最近活动时间", "last_activity_at", "dt"),
    Col("版本", "version", "int"),
]
DEPARTMENT_FILE = [
    Col("编号", "id", "int"),
    Col("部门代码", "code"),
    Col("部门名称", "name"),
    Col("牵头产业集群", "leads", "clusters"),
    Col("创建时间", "created_at", "dt"),
    Col("版本", "version", "int"),
]
USER_FILE = [
    Col("编号", "id", "int"),
    Col("用户名", "username"),
    Col("姓名", "display_name"),
    Col("邮箱", "email"),
    Col("角色", "role"),
    Col("部门", "department_id", "dept"),
    Col("密码哈希", "password_hash"),
    Col("启用", "is_active", "bool"),
    Col("语言", "language"),
    Col("创建时间", "created_at", "dt"),
    Col("最近登录时间", "last_login_at", "dt"),
    Col("密码修改时间", "password_changed_at", "dt"),
    Col("版本", "version", "int"),
]
STAGE_FILE = [
    Col("编号", "id", "int"),
    Col("项目编号", "project_id", "ref"),
    Col("原阶段", "from_stage", "stage"),
    Col("新阶段", "to_stage", "stage"),
    Col("原因", "reason"),
    Col("操作人", "changed_by_id", "user"),
    Col("时间", "changed_at", "dt"),
]
CAPITAL_FILE = [
    Col("编号", "id", "int"),
    Col("项目编号", "project_id", "ref"),
    Col("到资金额（亿元）", "amount", "dec"),
    Col("到资日期", "arrived_on", "date"),
    Col("备注", "note"),
    Col("录入人", "created_by_id", "user"),
    Col("创建时间", "created_at", "dt"),
]
ACTIVITY_FILE = [
    Col("编号", "id", "int"),
    Col("类型", "kind"),
    Col("时间", "occurred_at", "dt"),
    Col("摘要", "summary"),
    Col("结果", "outcome"),
    Col("记录人", "created_by_id", "user"),
    Col("部门", "department_id", "dept"),
    Col("企业编号", "firms", "refs"),
    Col("项目编号", "projects", "refs"),
    Col("联系人编号", "contacts", "refs"),
    Col("参与人", "officers", "users"),
    Col("创建时间", "created_at", "dt"),
    Col("更新时间", "updated_at", "dt"),
    Col("版本", "version", "int"),
]
FOLLOWUP_FILE = [
    Col("编号", "id", "int"),
    Col("标题", "title"),
    Col("备注", "notes"),
    Col("到期时间", "due_at", "dt"),
    Col("提醒时间", "remind_at", "dt"),
    Col("负责人", "assignee_id", "user"),
    Col("企业编号", "firm_id", "ref"),
    Col("项目编号", "project_id", "ref"),
    Col("活动编号", "activity_id", "ref"),
    Col("状态", "status"),
    Col("创建人", "created_by_id", "user"),
    Col("完成时间", "completed_at", "dt"),
    Col("创建时间", "created_at", "dt"),
    Col("更新时间", "updated_at", "dt"),
    Col("版本", "version", "int"),
]

# the files in the order a restore reads them, with the table each fills
FILES: list[tuple[str, list[Col], Any]] = [
    ("departments", DEPARTMENT_FILE, Department),
    ("users", USER_FILE, User),
    ("firms", FIRM_FILE, Firm),
    ("contacts", CONTACT_FILE, Contact),
    ("projects", PROJECT_FILE, Project),
    ("stage_history", STAGE_FILE, StageChange),
    ("capital", CAPITAL_FILE, CapitalArrival),
    ("activities", ACTIVITY_FILE, Activity),
    ("followups", FOLLOWUP_FILE, Followup),
]
# an activity's links: column of the file → (link table, its column naming the other row)
ACTIVITY_LINKS: dict[str, tuple[Any, str]] = {
    "firms": (ActivityFirm, "firm_id"),
    "projects": (ActivityProject, "project_id"),
    "contacts": (ActivityContact, "contact_id"),
    "officers": (ActivityOfficer, "user_id"),
}
LIST_SEP = "；"


def _text(v: Any, kind: str) -> str | None:
    """A value as the text the file holds (the restore reads it back exactly)."""
    if v is None or v == "" or v == []:
        return None
    if kind == "bool":
        return "是" if v else None
    if kind == "stage":
        stage: str = v
        return STAGE_ZH.get(stage, stage)
    if kind == "dt":
        assert isinstance(v, datetime)
        return v.astimezone(UTC).isoformat()
    if kind == "date":
        assert isinstance(v, date)
        return v.isoformat()
    if kind == "dec":
        assert isinstance(v, Decimal)
        return format(v.normalize(), "f")
    if isinstance(v, list):
        return LIST_SEP.join(str(x) for x in v)
    return str(v)


def _lookups(session: Session) -> dict[str, dict[int, str]]:
    """Row id → the text that names it in a file, per kind of reference."""
    return {
        "user": dict(session.execute(select(User.id, User.username)).all()),
        "dept": dict(session.execute(select(Department.id, Department.code)).all()),
        "cluster": dict(session.execute(select(Cluster.id, Cluster.code)).all()),
        "park": dict(session.execute(select(Park.id, Park.code)).all()),
        "link": dict(session.execute(select(ChainLink.id, ChainLink.code)).all()),
        "firm": dict(session.execute(select(Firm.id, Firm.name_zh)).all()),
    }


def _extras(session: Session, name: str, names: dict[str, dict[int, str]]) -> dict[str, Any]:
    """Columns that are not the table's own: a firm's aliases and clusters, an activity's
    links (each list in a fixed order)."""
    if name == "firms":
        return {
            "aliases": grouped(
                session, select(FirmAlias.firm_id, FirmAlias.alias).order_by(FirmAlias.id)
            ),
            "clusters": grouped(
                session,
                select(FirmCluster.firm_id, Cluster.code)
                .join(Cluster, Cluster.id == FirmCluster.cluster_id)
                .order_by(Cluster.sort_order, Cluster.id),
            ),
        }
    if name == "departments":
        leads = (
            select(Cluster.lead_department_id, Cluster.code)
            .where(Cluster.lead_department_id.is_not(None))
            .order_by(Cluster.sort_order, Cluster.id)
        )
        return {"leads": grouped(session, leads)}
    if name == "activities":
        out = {}
        for col, (model, other) in ACTIVITY_LINKS.items():
            t = model.__table__
            groups = {}
            for aid, ids in grouped(session, select(t.c.activity_id, t.c[other])).items():
                ids.sort()
                groups[aid] = [names["user"][i] for i in ids] if col == "officers" else ids
            out[col] = groups
        return out
    return {}


def file_rows(session: Session, name: str, cols: list[Col], model: Any) -> list[list[str | None]]:
    names = _lookups(session)
    extras = _extras(session, name, names)
    t = model.__table__
    order = [t.c.id]
    if name == "firms":  # parents before their subsidiaries (the import looks a parent up)
        order = [t.c.parent_id.is_not(None), t.c.id]
    rows = []
    for r in session.execute(select(t).order_by(*order)).mappings():
        out: list[str | None] = []
        for c in cols:
            if c.column in extras:
                v: Any = extras[c.column].get(r["id"], [])
            else:
                v = r[c.column]
                if c.kind in names and v is not None:
                    v = names[c.kind][v]
            out.append(_text(v, c.kind))
        rows.append(out)
    return rows


def _write(target: Path, sheet: str, headers: list[str], rows: list[list[str | None]]) -> None:
    """Every value as text (the list exports' writer stops at 100,000 rows; this one does not)."""
    wb = xlsxwriter.Workbook(
        str(target),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    ws = wb.add_worksheet(sheet[:31])
    bold = wb.add_format({"bold": True})
    for c, h in enumerate(headers):
        ws.write_string(0, c, h, bold)
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row):
            if v is not None:
                ws.write_string(r, c, v)
    wb.close()


def export_dir(
    session: Session,
    path: Path,
    *,
    with_password_hashes: bool = True,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write every file of the folder (module docstring) into ``path``; rows per file."""
    path.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, cols, model in FILES:
        use = [c for c in cols if with_password_hashes or c.column != "password_hash"]
        rows = file_rows(session, name, use, model)
        _write(path / f"{name}.xlsx", name, [c.header for c in use], rows)
        counts[name] = len(rows)
        if progress:
            progress(name, len(rows))
    shutil.copyfile(DEFAULT_PACK, path / "policy_pack.yaml")
    return counts
