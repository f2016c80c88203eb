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
    written as text (``kind``, read off the model by ``_file``): text, int, dec, date, dt (UTC
    ISO), bool (是/""), stage (中文), user (user name), dept / cluster / park / link (code), firm
    (name), ref (an exported 编号); a list (``_extras``): aliases, clusters (codes), refs, users."""

    header: str
    column: str
    kind: str


# a reference's cell, by the table it points at: the name or code that row goes by in any
# instance; a reference to any other table is an exported 编号 ("ref")
NAMED_BY = {
    "user_account": "user",
    "department": "dept",
    "cluster": "cluster",
    "park": "park",
    "chain_link": "link",
}
STAGE_COLUMNS = ("stage", "from_stage", "to_stage")
# the list columns (not the table's own, ``_extras``): what their items are; any other: 编号
LIST_KINDS = {
    "aliases": "aliases",
    "clusters": "clusters",
    "leads": "clusters",
    "officers": "users",
}
TYPE_KINDS: dict[type, str] = {
    int: "int",
    bool: "bool",
    Decimal: "dec",
    datetime: "dt",
    date: "date",
}


def _kind(model: Any, column: str, *, firms_by_name: bool) -> str:
    if column not in model.__table__.c:
        return LIST_KINDS.get(column, "refs")
    c = model.__table__.c[column]
    for fk in c.foreign_keys:
        target = fk.column.table.name
        if target == "firm" and firms_by_name:
            return "firm"
        return NAMED_BY.get(target, "ref")
    if column in STAGE_COLUMNS:
        return "stage"
    return TYPE_KINDS.get(c.type.python_type, "text")


def _file(model: Any, columns: list[tuple[str, str]], *, firms_by_name: bool = False) -> list[Col]:
    """A file's columns, (header, column) each, with the kind of each read off ``model``: a
    list, a reference (a firm by its name in the files the per-kind import reads back,
    ``firms_by_name``, elsewhere by its 编号), a stage, or the column's type."""
    return [Col(h, c, _kind(model, c, firms_by_name=firms_by_name)) for h, c in columns]


# the import's own headers first (crm/imports/{firms,contacts,projects}.py), then what only a
# whole-folder restore reads
FIRM_FILE = _file(
    Firm,
    [
        ("编号", "id"),
        ("企业名称", "name_zh"),
        ("英文名称", "name_en"),
        ("别名", "aliases"),
        ("国家或地区", "country"),
        ("总部", "headquarters"),
        ("世界500强排名", "global500_rank"),
        ("中国500强排名", "china500_rank"),
        ("行业龙头", "is_leader"),
        ("网站", "website"),
        ("统一社会信用代码", "credit_code"),
        ("产业集群", "clusters"),
        ("母公司", "parent_id"),
        ("负责人", "owner_id"),
        ("备注", "notes"),
        ("来源", "source"),
        ("创建时间", "created_at"),
        ("更新时间", "updated_at"),
        ("版本", "version"),
    ],
    firms_by_name=True,
)
CONTACT_FILE = _file(
    Contact,
    [
        ("编号", "id"),
        ("企业名称", "firm_id"),
        ("姓名", "name"),
        ("职务", "title"),
        ("电话", "phone"),
        ("邮箱", "email"),
        ("微信", "wechat"),
        ("备注", "notes"),
        ("创建时间", "created_at"),
        ("更新时间", "updated_at"),
        ("版本", "version"),
    ],
    firms_by_name=True,
)
PROJECT_FILE = _file(
    Project,
    [
        ("编号", "id"),
        ("企业名称", "firm_id"),
        ("项目名称", "title"),
        ("产业集群", "cluster_id"),
        ("园区", "park_id"),
        ("产业链环节", "chain_link_id"),
        ("阶段", "stage"),
        ("流失原因", "lost_reason"),
        ("计划投资（亿元）", "planned_investment"),
        ("预计年产值（亿元）", "expected_output"),
        ("预计就业", "expected_jobs"),
        ("预计签约日期", "expected_sign_date"),
        ("预计落地日期", "expected_land_date"),
        ("预计投产日期", "expected_operate_date"),
        ("负责人", "owner_id"),
        ("部门", "department_id"),
        ("保密", "is_confidential"),
        ("代号", "code_name"),
        ("备注", "notes"),
        ("实际就业", "actual_jobs"),
        ("实际签约日期", "actual_sign_date"),
        ("实际落地日期", "actual_land_date"),
        ("实际投产日期", "actual_operate_date"),
        ("撞单项目编号", "conflict_with_id"),
        ("创建时间", "created_at"),
        ("更新时间", "updated_at"),
        ("阶段变更时间", "stage_changed_at"),
        ("首次接触时间", "first_contact_at"),
        ("最近活动时间", "last_activity_at"),
        ("版本", "version"),
    ],
    firms_by_name=True,
)
DEPARTMENT_FILE = _file(
    Department,
    [
        ("编号", "id"),
        ("部门代码", "code"),
        ("部门名称", "name"),
        ("牵头产业集群", "leads"),
        ("创建时间", "created_at"),
        ("版本", "version"),
    ],
)
USER_FILE = _file(
    User,
    [
        ("编号", "id"),
        ("用户名", "username"),
        ("姓名", "display_name"),
        ("邮箱", "email"),
        ("角色", "role"),
        ("部门", "department_id"),
        ("密码哈希", "password_hash"),
        ("启用", "is_active"),
        ("语言", "language"),
        ("创建时间", "created_at"),
        ("最近登录时间", "last_login_at"),
        ("密码修改时间", "password_changed_at"),
        ("版本", "version"),
    ],
)
STAGE_FILE = _file(
    StageChange,
    [
        ("编号", "id"),
        ("项目编号", "project_id"),
        ("原阶段", "from_stage"),
        ("新阶段", "to_stage"),
        ("原因", "reason"),
        ("操作人", "changed_by_id"),
        ("时间", "changed_at"),
    ],
)
CAPITAL_FILE = _file(
    CapitalArrival,
    [
        ("编号", "id"),
        ("项目编号", "project_id"),
        ("到资金额（亿元）", "amount"),
        ("到资日期", "arrived_on"),
        ("备注", "note"),
        ("录入人", "created_by_id"),
        ("创建时间", "created_at"),
    ],
)
ACTIVITY_FILE = _file(
    Activity,
    [
        ("编号", "id"),
        ("类型", "kind"),
        ("时间", "occurred_at"),
        ("摘要", "summary"),
        ("结果", "outcome"),
        ("记录人", "created_by_id"),
        ("部门", "department_id"),
        ("企业编号", "firms"),
        ("项目编号", "projects"),
        ("联系人编号", "contacts"),
        ("参与人", "officers"),
        ("创建时间", "created_at"),
        ("更新时间", "updated_at"),
        ("版本", "version"),
    ],
)
FOLLOWUP_FILE = _file(
    Followup,
    [
        ("编号", "id"),
        ("标题", "title"),
        ("备注", "notes"),
        ("到期时间", "due_at"),
        ("提醒时间", "remind_at"),
        ("负责人", "assignee_id"),
        ("企业编号", "firm_id"),
        ("项目编号", "project_id"),
        ("活动编号", "activity_id"),
        ("状态", "status"),
        ("创建人", "created_by_id"),
        ("完成时间", "completed_at"),
        ("创建时间", "created_at"),
        ("更新时间", "updated_at"),
        ("版本", "version"),
    ],
)

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
