"""What every kind of import shares: the report, cell converters in the reader's language,
bulk inserts, lookups."""

from __future__ import annotations

import functools
import gc
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ParamSpec, TypeVar

from pydantic import ValidationError
from sqlalchemy import Table, insert, select
from sqlmodel import Session

from crm.i18n import Message, _l, as_message, validation_message
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias
from crm.models.policy import Cluster
from crm.text import normalize_name
from crm.vocabulary import Stage

STAGE_NAMES = {
    **{s.value: s.value for s in Stage},  # every stage's code, then its names
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
    # firms: rows that may duplicate a firm already there → {"name": the row's name, "firms":
    # [{id, name_zh, name_en, score, reason}]} (the check of the form and the API)
    candidates: dict[int, dict[str, Any]] = field(default_factory=dict)
    # of those, the rows held back (rejected) because nobody confirmed them: they do not stop
    # the other rows of an all-or-nothing import
    held: set[int] = field(default_factory=set)
    # the rows as read (the rejected-rows workbook gives them back with their reasons)
    sheet: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def blocking(self) -> bool:
        """Rejected rows other than the held possible duplicates (all or nothing: stop)."""
        return any(e.row not in self.held for e in self.rejected)

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
            self.errors.append(RowError(self.row_no, column, as_message(msg)))
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


def _firm_ids_by_name(session: Session) -> dict[str, int]:
    out = dict(session.execute(select(FirmAlias.alias_norm, FirmAlias.firm_id)).all())
    out.update(dict(session.execute(select(Firm.name_norm, Firm.id)).all()))
    return out


def _row_firm(
    firms: dict[str, int], i: int, row: dict[str, str], errs: list[RowError]
) -> int | None:
    """The firm a row names (its name or an alias, as ``_firm_ids_by_name`` keys them), or an
    error beside the row's firm column."""
    fid = firms.get(normalize_name(row.get("firm", "")))
    if fid is None:
        errs.append(RowError(i, "firm", _l("企业不存在：%(name)s", name=row.get("firm", "")[:60])))
    return fid
