"""Import firms, contacts and projects from .xlsx / .csv: every row checked first, a row-by-row
report of what was rejected and why, and nothing half-imported (one transaction, all or nothing;
with ``skip_invalid`` the valid rows go in together and the rejected ones are listed)."""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError
from sqlalchemy import Table, insert, select, text, update
from sqlmodel import Session

from crm.accounts.models import Department, User
from crm.audit.service import record
from crm.authz import require_manager
from crm.db import allocate_ids
from crm.errors import CRMError, ValidationFailed
from crm.firms.models import Contact, Firm, FirmAlias, FirmCluster, derive_tier
from crm.firms.schemas import ContactCreate, FirmCreate
from crm.i18n import Message, _l, as_message, validation_message
from crm.imports.reader import read_rows
from crm.policy.models import Cluster
from crm.projects.schemas import ProjectCreate
from crm.text import normalize_name, pinyin_many, search_blob
from crm.types import utcnow

FIRM_HEADERS = {
    "企业名称": "name_zh",
    "中文名称": "name_zh",
    "name_zh": "name_zh",
    "name": "name_zh",
    "英文名称": "name_en",
    "name_en": "name_en",
    "别名": "aliases",
    "aliases": "aliases",
    "国家或地区": "country",
    "国家": "country",
    "country": "country",
    "总部": "headquarters",
    "headquarters": "headquarters",
    "世界500强排名": "global500_rank",
    "global500_rank": "global500_rank",
    "中国500强排名": "china500_rank",
    "china500_rank": "china500_rank",
    "行业龙头": "is_leader",
    "is_leader": "is_leader",
    "leader": "is_leader",
    "网站": "website",
    "website": "website",
    "统一社会信用代码": "credit_code",
    "credit_code": "credit_code",
    "产业集群": "clusters",
    "clusters": "clusters",
    "母公司": "parent",
    "所属集团": "parent",
    "parent": "parent",
    "负责人": "owner",
    "owner": "owner",
    "备注": "notes",
    "notes": "notes",
}
CONTACT_HEADERS = {
    "企业名称": "firm",
    "企业": "firm",
    "firm": "firm",
    "姓名": "name",
    "name": "name",
    "职务": "title",
    "title": "title",
    "电话": "phone",
    "phone": "phone",
    "邮箱": "email",
    "email": "email",
    "微信": "wechat",
    "wechat": "wechat",
    "备注": "notes",
    "notes": "notes",
}
PROJECT_HEADERS = {
    "企业名称": "firm",
    "企业": "firm",
    "firm": "firm",
    "项目名称": "title",
    "title": "title",
    "产业集群": "cluster",
    "cluster": "cluster",
    "园区": "park",
    "park": "park",
    "产业链环节": "chain_link",
    "chain_link": "chain_link",
    "阶段": "stage",
    "stage": "stage",
    "计划投资（亿元）": "planned_investment",
    "计划投资(亿元)": "planned_investment",
    "计划投资": "planned_investment",
    "planned_investment": "planned_investment",
    "预计年产值（亿元）": "expected_output",
    "预计年产值(亿元)": "expected_output",
    "预计年产值": "expected_output",
    "expected_output": "expected_output",
    "预计就业": "expected_jobs",
    "expected_jobs": "expected_jobs",
    "预计签约日期": "expected_sign_date",
    "expected_sign_date": "expected_sign_date",
    "预计落地日期": "expected_land_date",
    "expected_land_date": "expected_land_date",
    "预计投产日期": "expected_operate_date",
    "expected_operate_date": "expected_operate_date",
    "负责人": "owner",
    "owner": "owner",
    "部门": "department",
    "department": "department",
    "保密": "is_confidential",
    "is_confidential": "is_confidential",
    "代号": "code_name",
    "code_name": "code_name",
    "备注": "notes",
    "notes": "notes",
    "流失原因": "lost_reason",
    "原因": "lost_reason",
    "lost_reason": "lost_reason",
    "reason": "lost_reason",
}
STAGE_NAMES = {
    **{code: code for code in ("lead", "contacted", "negotiating", "signed", "landed")},
    "operating": "operating",
    "lost": "lost",
    "线索": "lead",
    "已接触": "contacted",
    "接触": "contacted",
    "contact": "contacted",
    "洽谈": "negotiating",
    "洽谈中": "negotiating",
    "谈判": "negotiating",
    "谈判中": "negotiating",
    "在谈": "negotiating",
    "negotiation": "negotiating",
    "签约": "signed",
    "已签约": "signed",
    "落地": "landed",
    "已落地": "landed",
    "开工": "landed",
    "投产": "operating",
    "已投产": "operating",
    "运营": "operating",
    "流失": "lost",
    "已流失": "lost",
}
_SPLIT = re.compile(r"[;；、,，|/]+")
_TRUE = {"1", "true", "yes", "y", "是", "√", "x"}
_FALSE = {"", "0", "false", "no", "n", "否"}


@dataclass
class RowError:
    row: int  # the spreadsheet's own row number
    field: str | None
    message: Message  # rendered in the reader's language (an old "中文 / English" text: its half)

    def __post_init__(self) -> None:
        self.message = as_message(self.message)


@dataclass
class ImportReport:
    kind: str
    total: int
    imported: int = 0
    updated: int = 0  # rows that matched a record already there, given the row's values
    unchanged: int = 0  # rows that matched a record already there, left as they were
    rejected: list[RowError] = field(default_factory=list)
    warnings: list[RowError] = field(default_factory=list)  # the row goes in all the same
    notes: list[Message] = field(default_factory=list)
    dry_run: bool = False
    applied: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # column → its header in the file

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.rejected})

    def column(self, e: RowError) -> str:
        """The column of an error as its header is written in the file ("—": the whole row)."""
        return self.labels.get(e.field, e.field) if e.field else "—"


def _split(v: str) -> list[str]:
    return [x.strip() for x in _SPLIT.split(v or "") if x.strip()]


def _int(v: str) -> int | None:
    v = (v or "").strip().replace(",", "")
    if not v:
        return None
    if not re.fullmatch(r"\d{1,9}", v):
        raise ValueError(_l("不是整数：%(value)s", value=v[:30]))
    return int(v)


def _bool(v: str) -> bool:
    key = (v or "").strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(_l("应为“是”或“否”：%(value)s", value=v[:30]))


class _Converter:
    """Convert a row's cells one column at a time, keeping every column's error."""

    def __init__(self, row_no: int, row: dict[str, str], errors: list[RowError]) -> None:
        self.row_no, self.row, self.errors = row_no, row, errors

    def __call__(self, column: str, fn: Callable[[str], Any]) -> Any:
        try:
            return fn(self.row.get(column, ""))
        except ValueError as exc:
            msg = exc.args[0] if exc.args and isinstance(exc.args[0], Message) else str(exc)
            self.errors.append(RowError(self.row_no, column, msg))
            return None


def _pydantic_errors(row_no: int, exc: ValidationError) -> list[RowError]:
    """One error per column, in the reader's language (crm.i18n's catalogue messages)."""
    out = []
    for e in exc.errors():
        loc = e.get("loc", ())
        out.append(RowError(row_no, str(loc[0]) if loc else None, validation_message(e)))
    return out


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_EXCEL_EPOCH = date(1899, 12, 30)


def _date(v: str) -> date | None:
    """A date as offices write it: 2027-03-05, 2027/3/5, 2027.3.5, 2027年3月5日, or an Excel
    serial number (a date cell whose format was lost: 46451 is 2027-03-05)."""
    v = (v or "").strip()
    if not v:
        return None
    m = _DATE.fullmatch(v.split("T")[0].split(" ")[0] if v[:1].isdigit() else v)
    if m:
        try:
            return date(*(int(x) for x in m.groups()))
        except ValueError:
            pass
    elif re.fullmatch(r"\d{5}(\.0*)?", v) and 20000 <= int(float(v)) <= 80000:
        return _EXCEL_EPOCH + timedelta(days=int(float(v)))
    raise ValueError(
        _l("日期格式不对：%(value)s（例如 2027-03-05、2027/3/5、2027年3月5日）", value=v[:30])
    )


def _stage(v: str) -> str:
    key = (v or "").strip()
    if not key:
        return "lead"
    code = STAGE_NAMES.get(key) or STAGE_NAMES.get(key.lower())
    if code is None:
        raise ValueError(_l("未知阶段：%(value)s", value=key[:30]))
    return code


def _user_lookup(session: Session) -> dict[str, int]:
    """Owners by user name, or by display name where that names one person (the firm list's
    export shows display names, and must import back)."""
    rows = session.execute(select(User.id, User.username, User.display_name)).all()
    out: dict[str, int] = {}
    names: dict[str, list[int]] = {}
    for i, _, d in rows:
        names.setdefault(d.strip().lower(), []).append(i)
    out.update({d: ids[0] for d, ids in names.items() if len(ids) == 1})
    out.update({u.lower(): i for i, u, _ in rows})
    return out


def _cluster_lookup(session: Session) -> dict[str, str]:
    out = {}
    for code, zh, en in session.execute(select(Cluster.code, Cluster.name_zh, Cluster.name_en)):
        for key in (code, zh, en):
            out[key.strip().lower()] = code
    return out


def _insert_many(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows that all have the same keys, in batches.

    On SQLite the rows go to the driver's executemany as tuples, each column's values converted
    for the database once per distinct value (the same timestamp, True/False …): SQLAlchemy's
    per-row parameter processing would otherwise be a tenth of a 50,000-firm import.
    PostgreSQL keeps SQLAlchemy's executemany, which sends multi-row VALUES statements."""
    if not rows:
        return
    dialect = session.get_bind().dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    binds = [compiled.binds[name] for name in compiled.positiontup or ()]
    keys = [b.key for b in binds]
    if dialect.name != "sqlite" or set(keys) != set(rows[0]):
        # (a column left to its default: SQLAlchemy fills it in)
        for start in range(0, len(rows), 5000):
            session.execute(insert(table), rows[start : start + 5000])
        return
    procs = [b.type._cached_bind_processor(dialect) for b in binds]
    converted: list[dict[Any, Any]] = [{} for _ in keys]
    tuples = []
    for row in rows:
        values = []
        for k, proc, seen in zip(keys, procs, converted, strict=True):
            v = row[k]
            if proc is not None and v is not None:
                try:
                    v = seen[v]
                except KeyError:
                    seen[v] = out = proc(v)
                    v = out
                except TypeError:  # unhashable: convert it each time
                    v = proc(v)
            values.append(v)
        tuples.append(tuple(values))
    conn = session.connection()
    for start in range(0, len(tuples), 10000):
        conn.exec_driver_sql(compiled.string, tuples[start : start + 10000])


P = ParamSpec("P")
R = TypeVar("R")
_FTS_TRIGGER = "firm_fts_ai"
# the body of the SQLite trigger that indexes a new firm: INSERT INTO firm_fts(...) VALUES (...)
# (exactly this shape — no WHEN clause, one statement — or the trigger is left to do its work)
_FTS_TRIGGER_BODY = re.compile(
    r"^\s*CREATE\s+TRIGGER\s+\"?firm_fts_ai\"?\s+AFTER\s+INSERT\s+ON\s+\"?firm\"?\s+"
    r"(?:FOR\s+EACH\s+ROW\s+)?BEGIN\s+(INSERT\s+INTO\s+firm_fts\s*\([^()]*\))\s*"
    r"VALUES\s*\(([^;]*)\)\s*;\s*END\s*$",
    re.I | re.S,
)


@contextmanager
def _firm_search_index_in_bulk(session: Session) -> Iterator[Callable[[int, int], None]]:
    """Insert many firms, then index them in the search table in one statement.

    On SQLite the trigger ``firm_fts_ai`` adds each new firm to the FTS5 table ``firm_fts`` row
    by row, which is slow for a large import (two thirds of the time of 50,000 rows). Inside the
    caller's transaction the trigger is dropped, the firms inserted, the caller reports the range
    of ids it inserted and they are indexed by the trigger's own statement run once over them
    (``INSERT INTO firm_fts(..) SELECT <the trigger's values> FROM firm AS new``), then the
    trigger is recreated from its stored SQL. SQLite's DDL is transactional: a rollback restores
    the trigger and leaves the index untouched, and no other connection can write (or see the
    trigger missing) meanwhile. PostgreSQL (a GIN index, no trigger) needs none of this."""
    bulk = None
    if session.get_bind().dialect.name == "sqlite":
        sql = session.execute(
            text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
            {"n": _FTS_TRIGGER},
        ).scalar()
        m = _FTS_TRIGGER_BODY.search(sql or "")
        if m:  # a trigger of another shape is left alone: it then indexes row by row
            bulk = (
                sql,
                f"{m.group(1)} SELECT {m.group(2)} FROM firm AS new "
                "WHERE new.id BETWEEN :lo AND :hi",
            )
    if bulk is not None:
        # pysqlite opens its transaction only before an INSERT/UPDATE/DELETE: a DROP TRIGGER
        # as the first write would run (and be committed) on its own. Open it first; IMMEDIATE
        # also takes the write lock now, which allocate_ids relies on.
        dbapi = session.connection().connection.driver_connection
        if not dbapi.in_transaction:
            dbapi.execute("BEGIN IMMEDIATE")
        if not dbapi.in_transaction:
            bulk = None
    if bulk is None:
        yield lambda lo, hi: None
        return
    session.execute(text(f"DROP TRIGGER {_FTS_TRIGGER}"))
    try:
        yield lambda lo, hi: session.execute(text(bulk[1]), {"lo": lo, "hi": hi})
    finally:
        session.execute(text(bulk[0]))


def _without_cyclic_gc(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with the cyclic garbage collector paused: a large import creates hundreds of
    thousands of long-lived objects (rows, models, parameters), and the collector would walk
    them over and over (a tenth of the time of 50,000 firms). Reference counting still frees
    everything as usual; cycles left meanwhile are collected when it resumes."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return wrapper


@_without_cyclic_gc
def import_firms(
    session: Session,
    actor: User,
    data: bytes,
    filename: str,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Import firms. Duplicates (same normalised name, alias or credit code — in the database
    or earlier in the file) are rejected with the firm they duplicate."""
    require_manager(actor)
    sheet = read_rows(data, filename, FIRM_HEADERS)
    rep = ImportReport("firms", len(sheet.rows), dry_run=dry_run, labels=sheet.labels)
    clusters = _cluster_lookup(session)
    users = _user_lookup(session)
    names: dict[str, int] = {}
    stored_names: set[tuple[str, str]] = set()  # (normalised, as stored): the same firm again
    for norm_, fid_, name_ in session.execute(select(Firm.name_norm, Firm.id, Firm.name_zh)):
        names[norm_] = fid_
        stored_names.add((norm_, name_.strip()))
    aliases: dict[str, int] = dict(
        session.execute(select(FirmAlias.alias_norm, FirmAlias.firm_id)).all()
    )
    codes: dict[str, int] = dict(
        session.execute(
            select(Firm.credit_code, Firm.id).where(Firm.credit_code.is_not(None))
        ).all()
    )
    file_names: dict[str, int] = {}
    file_codes: dict[str, int] = {}
    good: list[tuple[int, FirmCreate, list[str], str | None, int | None]] = []
    for i, row in sheet.rows:
        errs: list[RowError] = []
        conv = _Converter(i, row, errs)
        g500 = conv("global500_rank", _int)
        c500 = conv("china500_rank", _int)
        leader = conv("is_leader", _bool)
        try:
            data_in = FirmCreate(
                name_zh=row.get("name_zh", ""),
                name_en=row.get("name_en") or None,
                aliases=_split(row.get("aliases", "")),
                country=row.get("country") or None,
                headquarters=row.get("headquarters") or None,
                global500_rank=g500,
                china500_rank=c500,
                is_leader=bool(leader),
                website=row.get("website") or None,
                credit_code=row.get("credit_code") or None,
                notes=row.get("notes") or None,
            )
        except ValidationError as exc:
            errs.extend(_pydantic_errors(i, exc))
        if errs:
            rep.rejected.extend(errs)
            continue
        codes_in = []
        bad = False
        for c in _split(row.get("clusters", "")):
            code = clusters.get(c.lower())
            if code is None:
                rep.rejected.append(
                    RowError(i, "clusters", _l("未知产业集群：%(name)s", name=c[:60]))
                )
                bad = True
            else:
                codes_in.append(code)
        owner_id = None
        if row.get("owner"):
            owner_id = users.get(row["owner"].strip().lower())
            if owner_id is None:
                rep.rejected.append(
                    RowError(i, "owner", _l("用户不存在：%(name)s", name=row["owner"][:60]))
                )
                bad = True
        norm = normalize_name(data_in.name_zh)
        if not norm:
            rep.rejected.append(RowError(i, "name_zh", _l("企业名称无效")))
            continue
        dup = names.get(norm) or aliases.get(norm)
        if dup and (norm, data_in.name_zh.strip()) in stored_names and not bad:
            rep.unchanged += 1  # the same firm, written the same way: a re-import
            continue
        if dup:
            rep.rejected.append(RowError(i, "name_zh", _l("企业已存在（编号 %(id)s）", id=dup)))
            bad = True
        elif norm in file_names:
            rep.rejected.append(
                RowError(
                    i,
                    "name_zh",
                    _l("与第 %(row)s 行重复", row=file_names[norm]),
                )
            )
            bad = True
        cc = data_in.credit_code
        if cc and cc in codes:
            rep.rejected.append(
                RowError(
                    i,
                    "credit_code",
                    _l("统一社会信用代码已存在（编号 %(id)s）", id=codes[cc]),
                )
            )
            bad = True
        elif cc and cc in file_codes:
            rep.rejected.append(
                RowError(
                    i,
                    "credit_code",
                    _l("与第 %(row)s 行重复", row=file_codes[cc]),
                )
            )
            bad = True
        if bad:
            continue
        file_names[norm] = i
        if data_in.credit_code:
            file_codes[data_in.credit_code] = i
        good.append((i, data_in, codes_in, (row.get("parent") or "").strip() or None, owner_id))
    # parents: an existing firm or a firm earlier/later in the same file
    for i, _d, _c, parent, _o in good:
        if (
            parent
            and normalize_name(parent) not in names
            and normalize_name(parent) not in file_names
            and normalize_name(parent) not in aliases
        ):
            rep.rejected.append(
                RowError(i, "parent", _l("母公司不存在：%(name)s", name=parent[:60]))
            )
    if rep.rejected:
        bad_rows = {e.row for e in rep.rejected}
        good = [g for g in good if g[0] not in bad_rows]
    if dry_run:
        _near_duplicates(session, rep, good)
    if rep.rejected and not skip_invalid:
        rep.imported = len(good) if dry_run else 0  # a check says how many rows would go
        return rep
    if dry_run:
        rep.imported = len(good)
        return rep
    now = utcnow()
    firm_rows: list[dict[str, Any]] = []
    # warm the pinyin cache on all cores; search_blob below then reuses it
    pinyins = pinyin_many([d.name_zh for _i, d, _c, _p, _o in good])
    for (_i, d, _c, _p, owner_id), (py, ini) in zip(good, pinyins, strict=True):
        firm_rows.append(
            {
                "name_zh": d.name_zh,
                "name_en": d.name_en,
                "name_norm": normalize_name(d.name_zh),
                "name_pinyin": py,
                "name_initials": ini,
                "search_text": search_blob(
                    [d.name_zh, d.name_en, *d.aliases], known={d.name_zh: (py, ini)}
                ),
                "country": d.country,
                "headquarters": d.headquarters,
                "global500_rank": d.global500_rank,
                "china500_rank": d.china500_rank,
                "is_leader": d.is_leader,
                "tier": derive_tier(d.global500_rank, d.china500_rank, d.is_leader),
                "website": d.website,
                "credit_code": d.credit_code,
                "parent_id": None,
                "owner_id": owner_id,
                "notes": d.notes,
                "source": "import",
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
    with _firm_search_index_in_bulk(session) as indexed:
        ids = allocate_ids(session, "firm", len(firm_rows))
        for row, fid in zip(firm_rows, ids, strict=True):
            row["id"] = fid
        _insert_many(session, Firm.__table__, firm_rows)
        if ids:
            indexed(ids[0], ids[-1])
    by_norm = {r["name_norm"]: fid for r, fid in zip(firm_rows, ids, strict=True)}
    code_ids = dict(session.execute(select(Cluster.code, Cluster.id)).all())
    alias_rows, fc_rows, parent_rows = [], [], []
    for (_i, d, cl, parent, _o), fid in zip(good, ids, strict=True):
        seen: set[str] = set()
        for a in d.aliases:
            n = normalize_name(a)
            if n and n not in seen:
                seen.add(n)
                alias_rows.append({"firm_id": fid, "alias": a, "alias_norm": n})
        for code in dict.fromkeys(cl):
            fc_rows.append({"firm_id": fid, "cluster_id": code_ids[code]})
        if parent:
            pn = normalize_name(parent)
            pid = by_norm.get(pn) or names.get(pn) or aliases.get(pn)
            if pid and pid != fid:
                parent_rows.append({"b_id": fid, "b_parent": pid})
    for rows_, model in ((alias_rows, FirmAlias), (fc_rows, FirmCluster)):
        _insert_many(session, model.__table__, rows_)
    if parent_rows:
        from sqlalchemy import bindparam

        session.execute(
            update(Firm.__table__)
            .where(Firm.__table__.c.id == bindparam("b_id"))
            .values(parent_id=bindparam("b_parent")),
            parent_rows,
        )
    rep.imported = len(ids)
    rep.applied = True
    record(
        session,
        actor.id,
        "import",
        "firm",
        None,
        after={
            "file": filename[:200],
            "imported": len(ids),
            "rejected": len(rep.rejected),
            "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None,
        },
    )
    session.flush()
    return rep


NEAR_DUPLICATE_ROWS = 2_000  # the check runs a few queries a row: a check of larger files skips it


def _near_duplicates(session: Session, rep: ImportReport, good: list[Any]) -> None:
    """The check the form and the API make (京东方科技集团有限公司 beside 京东方, "Schneider
    Electric" beside 施耐德), as a warning per row in a dry run: the row still goes in."""
    from crm.firms.duplicates import check_firm

    if len(good) > NEAR_DUPLICATE_ROWS:
        rep.notes.append(_l("超过 %(n)s 行的文件不做近似重名检查", n=f"{NEAR_DUPLICATE_ROWS:,}"))
        return
    for i, d, *_rest in good:
        found = check_firm(session, [d.name_zh, d.name_en, *d.aliases]).similar
        if found:
            names = "、".join(f"{c.name_zh}（{c.id}）" for c in found[:3])
            rep.warnings.append(
                RowError(i, "name_zh", _l("可能与已有企业重复：%(names)s", names=names))
            )


def _firm_ids_by_name(session: Session) -> dict[str, int]:
    out = dict(session.execute(select(FirmAlias.alias_norm, FirmAlias.firm_id)).all())
    out.update(dict(session.execute(select(Firm.name_norm, Firm.id)).all()))
    return out


@_without_cyclic_gc
def _contact_key(firm_id: int, name: str, phone: str | None, email: str | None) -> tuple:
    """A contact's match key: firm + name + phone (digits), or email when there is no phone."""
    digits = re.sub(r"\D", "", phone or "")
    return (firm_id, (name or "").strip().lower(), digits or (email or "").strip().lower())


def import_contacts(
    session: Session,
    actor: User,
    data: bytes,
    filename: str,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    update_matching: bool = False,
) -> ImportReport:
    """Import contacts; each row names its firm (name, alias or credit code). A row matching a
    contact already there (firm + name + phone or email) is left as it is — or, with
    ``update_matching``, given the row's values — so re-importing a file changes nothing."""
    require_manager(actor)
    sheet = read_rows(data, filename, CONTACT_HEADERS)
    rep = ImportReport("contacts", len(sheet.rows), dry_run=dry_run, labels=sheet.labels)
    firms = _firm_ids_by_name(session)
    existing = {
        _contact_key(f, n, p, e): (cid, ver)
        for cid, f, n, p, e, ver in session.execute(
            select(
                Contact.id,
                Contact.firm_id,
                Contact.name,
                Contact.phone,
                Contact.email,
                Contact.version,
            )
        )
    }
    seen: dict[tuple, int] = {}
    good = []
    updates = []
    now = utcnow()
    for i, row in sheet.rows:
        errs: list[RowError] = []
        fid = firms.get(normalize_name(row.get("firm", "")))
        if fid is None:
            errs.append(
                RowError(i, "firm", _l("企业不存在：%(name)s", name=row.get("firm", "")[:60]))
            )
        try:
            c = ContactCreate(
                **{
                    k: (row.get(k) or None)
                    for k in ("name", "title", "phone", "email", "wechat", "notes")
                }
            )
        except ValidationError as exc:
            errs.extend(_pydantic_errors(i, exc))
        if errs or fid is None:
            rep.rejected.extend(errs)
            continue
        key = _contact_key(fid, c.name, c.phone, c.email)
        if key in seen:
            rep.rejected.append(RowError(i, "name", _l("与第 %(row)s 行重复", row=seen[key])))
            continue
        seen[key] = i
        if key in existing:
            if update_matching:
                cid, ver = existing[key]
                updates.append(
                    {"b_id": cid, **c.model_dump(), "updated_at": now, "version": ver + 1}
                )
            else:
                rep.unchanged += 1
            continue
        good.append(
            {"firm_id": fid, **c.model_dump(), "created_at": now, "updated_at": now, "version": 1}
        )
    rep.updated = len(updates)
    if dry_run or (rep.rejected and not skip_invalid):
        rep.imported = len(good) if dry_run else 0
        return rep
    _insert_many(session, Contact.__table__, good)
    if updates:
        from sqlalchemy import bindparam

        t = Contact.__table__
        session.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values({k: bindparam(k) for k in updates[0] if k != "b_id"}),
            updates,
        )
    rep.imported, rep.applied = len(good), True
    record(
        session,
        actor.id,
        "import",
        "contact",
        None,
        after={
            "file": filename[:200],
            "imported": len(good),
            "updated": len(updates),
            "rejected": len(rep.rejected),
        },
    )
    session.flush()
    return rep


def import_projects(
    session: Session,
    actor: User,
    data: bytes,
    filename: str,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    update_matching: bool = False,
) -> ImportReport:
    """Import projects through the same service as the pages (conflict checks, history, audit).
    A row whose firm, cluster and title match a project already there is that project: left
    as it is (or, with ``update_matching``, given the row's values), so re-importing a file
    changes nothing. A lost project (已流失 / lost) needs its reason."""
    from crm.projects.models import Project
    from crm.projects.schemas import ProjectUpdate, StageMove
    from crm.projects.service import create_project, move_stage, update_project

    require_manager(actor)
    sheet = read_rows(data, filename, PROJECT_HEADERS)
    rep = ImportReport("projects", len(sheet.rows), dry_run=dry_run, labels=sheet.labels)
    firms = _firm_ids_by_name(session)
    clusters = _cluster_lookup(session)
    cluster_ids = dict(session.execute(select(Cluster.code, Cluster.id)).all())
    users = _user_lookup(session)
    depts = {}
    for did, code, name in session.execute(select(Department.id, Department.code, Department.name)):
        depts[code.lower()] = did
        depts[name.lower()] = did
    existing: dict[tuple[int, int, str], tuple[int, int]] = {
        (f, c, (t or "").strip().lower()): (pid, ver)
        for pid, f, c, t, ver in session.execute(
            select(Project.id, Project.firm_id, Project.cluster_id, Project.title, Project.version)
        )
    }
    seen_in_file: dict[tuple[int, int, str], int] = {}
    outer = session.begin_nested()
    imported = 0
    for i, row in sheet.rows:
        errs: list[RowError] = []
        conv = _Converter(i, row, errs)
        fid = firms.get(normalize_name(row.get("firm", "")))
        if fid is None:
            errs.append(
                RowError(i, "firm", _l("企业不存在：%(name)s", name=row.get("firm", "")[:60]))
            )
        stage = conv("stage", _stage) or "lead"
        reason = (row.get("lost_reason") or "").strip()
        if stage == "lost" and not reason:
            errs.append(
                RowError(
                    i,
                    "lost_reason" if "lost_reason" in sheet.labels else "stage",
                    _l("已流失的项目请填写流失原因"),
                )
            )
        owner = row.get("owner", "").strip().lower()
        dept = row.get("department", "").strip().lower()
        if owner and owner not in users:
            errs.append(RowError(i, "owner", _l("用户不存在：%(name)s", name=owner[:60])))
        if dept and dept not in depts:
            errs.append(RowError(i, "department", _l("部门不存在：%(name)s", name=dept[:60])))
        jobs = conv("expected_jobs", _int)
        confidential = conv("is_confidential", _bool)
        dates = {
            k: conv(k, _date)
            for k in ("expected_sign_date", "expected_land_date", "expected_operate_date")
        }
        cluster = clusters.get((row.get("cluster") or "").strip().lower(), row.get("cluster") or "")
        try:
            data_in = ProjectCreate(
                firm_id=fid or 1,
                title=row.get("title") or None,
                cluster=cluster,
                park=row.get("park") or None,
                chain_link=row.get("chain_link") or None,
                stage="lead" if stage == "lost" else stage,
                planned_investment=row.get("planned_investment") or None,
                expected_output=row.get("expected_output") or None,
                expected_jobs=jobs,
                owner_id=users.get(owner) if owner else None,
                department_id=depts.get(dept) if dept else None,
                is_confidential=bool(confidential),
                code_name=row.get("code_name") or None,
                notes=row.get("notes") or None,
                **{k: v for k, v in dates.items() if v is not None},
            )
        except ValidationError as exc:
            known = {e.field for e in errs}
            errs.extend(e for e in _pydantic_errors(i, exc) if e.field not in known)
        if errs or fid is None:
            rep.rejected.extend(errs)
            continue
        cid = cluster_ids.get(data_in.cluster)
        title = (data_in.title or f"{_firm_name(session, fid)} · {data_in.cluster}").strip().lower()
        key = (fid, cid or 0, title)
        if key in seen_in_file:
            rep.rejected.append(
                RowError(i, "title", _l("与第 %(row)s 行重复", row=seen_in_file[key]))
            )
            continue
        seen_in_file[key] = i
        sp = session.begin_nested()
        try:
            if key in existing:
                pid, version = existing[key]
                if update_matching:
                    update_project(
                        session,
                        actor,
                        pid,
                        ProjectUpdate(
                            **data_in.model_dump(
                                include=set(ProjectUpdate.model_fields) - {"version"},
                                exclude_unset=True,
                            ),
                            version=version,
                        ),
                    )
                    rep.updated += 1
                else:
                    rep.unchanged += 1
                sp.commit()
                continue
            p = create_project(session, actor, data_in)
            if stage == "lost":
                move_stage(session, actor, p.id, StageMove(stage="lost", reason=reason))
            sp.commit()
            imported += 1
        except CRMError as exc:
            sp.rollback()
            rep.rejected.append(RowError(i, exc.field, exc.message))
    if (rep.rejected and not skip_invalid) or dry_run:
        outer.rollback()
        rep.imported = imported if dry_run else 0
        return rep
    outer.commit()
    rep.imported, rep.applied = imported, True
    record(
        session,
        actor.id,
        "import",
        "project",
        None,
        after={
            "file": filename[:200],
            "imported": imported,
            "updated": rep.updated,
            "rejected": len(rep.rejected),
        },
    )
    session.flush()
    return rep


def _firm_name(session: Session, firm_id: int) -> str:
    return session.scalar(select(Firm.name_zh).where(Firm.id == firm_id)) or ""


IMPORTERS = {"firms": import_firms, "contacts": import_contacts, "projects": import_projects}


def run_import(
    session: Session, actor: User, kind: str, data: bytes, filename: str, **kw: Any
) -> ImportReport:
    if kind == "firms":
        kw.pop("update_matching", None)  # a firm matches by its name: nothing to update
    if kind not in IMPORTERS:
        raise ValidationFailed(_l("未知导入类型：%(kind)s", kind=kind[:20]), field="kind")
    return IMPORTERS[kind](session, actor, data, filename, **kw)
