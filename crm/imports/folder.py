"""``crm import-folder DIR``: a ``crm export`` folder read back into an empty instance (one that
has run ``crm migrate`` with the same policy pack), so every exported table holds the same rows
again (the files and what they leave out: ``crm/dataset_export.py``).

Departments and users are matched by code and user name (an instance's first admin may already
be there: it is kept as it is) and added otherwise, under new ids. Firms, contacts, projects,
stage history, capital arrivals, activities and follow-ups keep their 编号, so the target must
hold none of them. Firms go through the same schema and derived fields (normalised name,
pinyin, search text, tier) as the firm import. Everything in one transaction: a file that does
not fit (an unknown code, a broken reference, a duplicate) saves nothing, and the message
names the file, the row and the column. The weekly rollups are rebuilt from the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.audit.service import record
from crm.dataset_export import ACTIVITY_LINKS, FILES, LIST_SEP, Col
from crm.db import allocate_ids, is_postgres
from crm.errors import ValidationFailed
from crm.firms.rows import alias_values, firm_values
from crm.firms.schemas import FirmCreate
from crm.i18n import _l
from crm.imports.bounds import LIMITS
from crm.imports.common import _insert_many, _stage
from crm.imports.reader import read_table
from crm.models.accounts import Department, User
from crm.models.firms import Firm, FirmAlias, FirmCluster
from crm.models.policy import ChainLink, Cluster, Park
from crm.models.projects import Project, StageChange
from crm.summaries.fill import rebuild_on
from crm.text import pinyin_many
from crm.vocabulary import furthest

# a whole instance, not an office's list: ten times the per-kind import's bounds
FOLDER_LIMITS = replace(
    LIMITS,
    max_rows=LIMITS.max_rows * 10,
    max_sheet_rows=LIMITS.max_sheet_rows * 10,
    max_cells=LIMITS.max_cells * 10,
    max_uncompressed=LIMITS.max_uncompressed * 10,
)
# tables whose rows keep their 编号: the target must hold none
KEPT_IDS = ("firms", "contacts", "projects", "stage_history", "capital", "activities", "followups")
UNUSABLE_PASSWORD = "!"  # matches no password: an admin sets one (an export without hashes)


class _Bad(ValueError):
    pass


def _aware(v: str) -> datetime:
    """A time as the export writes it: ISO with its offset (a naive one is refused)."""
    d = datetime.fromisoformat(v)
    if d.tzinfo is None:
        raise _Bad(v)
    return d


# a cell's text → its value, by the column's kind (crm/dataset_export.Col; the inverse of _text)
_PARSERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "ref": int,
    "dec": Decimal,
    "date": date.fromisoformat,
    "dt": _aware,
    "stage": _stage,
}


def _read(path: Path, name: str, cols: list[Col]) -> list[tuple[int, dict[str, str]]]:
    """(row number, {column: text}) of one file; its header must be the export's."""
    f = path / f"{name}.xlsx"
    if not f.exists():
        raise ValidationFailed(_l("文件夹中缺少 %(file)s", file=f.name), field="file")
    rows = iter(read_table(f.read_bytes(), f.name, FOLDER_LIMITS))
    first = next(rows, None)
    if first is None:
        raise ValidationFailed(_l("%(file)s 没有表头", file=f.name), field="file")
    by_header = {c.header: c.column for c in cols}
    header = [by_header.get(h.strip()) for h in first[1]]
    unknown = [h for h, c in zip(first[1], header, strict=True) if h and c is None]
    missing = [c.header for c in cols if c.column not in header and c.column != "password_hash"]
    if unknown or missing:
        raise ValidationFailed(
            _l(
                "%(file)s 的列与导出的不同：%(columns)s",
                file=f.name,
                columns="、".join([*unknown, *missing])[:200],
            ),
            field="file",
        )
    out = []
    for n, cells in rows:
        out.append((n, {c: cells[i] for i, c in enumerate(header) if c and i < len(cells)}))
    return out


class _Restore:
    def __init__(self, session: Session, path: Path) -> None:
        self.s = session
        self.path = path
        self.refs: dict[str, dict[str, int]] = {
            "user": {u: i for i, u in session.execute(select(User.id, User.username))},
            "dept": {c: i for i, c in session.execute(select(Department.id, Department.code))},
            "cluster": {c: i for i, c in session.execute(select(Cluster.id, Cluster.code))},
            "park": {c: i for i, c in session.execute(select(Park.id, Park.code))},
            "firm": {},
        }
        # a chain link's code is unique within its cluster only
        self.links = {
            (cl, c): i
            for i, cl, c in session.execute(
                select(ChainLink.id, ChainLink.cluster_id, ChainLink.code)
            )
        }
        self.counts: dict[str, int] = {}

    # -- one cell -------------------------------------------------------------------------
    def _value(self, c: Col, v: str) -> Any:
        v = v or ""
        if c.kind in ("aliases", "clusters", "refs", "users"):
            return self._items(c.kind, [x.strip() for x in v.split(LIST_SEP) if x.strip()])
        if c.kind == "bool":
            return v == "是"
        if not v:
            return None
        parse = _PARSERS.get(c.kind)
        if parse is not None:
            return parse(v)
        if c.kind in self.refs:
            return self._ref(c.kind, v)
        return v  # (a chain link: its code, looked up with the row's cluster)

    def _items(self, kind: str, items: list[str]) -> list[Any]:
        """A list cell: ids (refs), users and clusters by their name or code, or texts."""
        if kind == "refs":
            return [int(x) for x in items]
        if kind == "users":
            return [self._ref("user", x) for x in items]
        if kind == "clusters":
            return [self._ref("cluster", x) for x in items]
        return items

    def _ref(self, kind: str, v: str) -> int:
        try:
            return self.refs[kind][v]
        except KeyError:
            raise _Bad(v) from None

    def rows(
        self, name: str, cols: list[Col], raw_rows: list[tuple[int, dict[str, str]]] | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        out = []
        for n, raw in raw_rows if raw_rows is not None else _read(self.path, name, cols):
            row = {}
            for c in cols:
                if c.column not in raw and c.column == "password_hash":
                    continue
                try:
                    row[c.column] = self._value(c, raw.get(c.column, ""))
                except (ValueError, InvalidOperation, KeyError):
                    raise ValidationFailed(
                        _l(
                            "%(file)s 第 %(row)s 行「%(column)s」无效：%(value)s",
                            file=f"{name}.xlsx",
                            row=n,
                            column=c.header,
                            value=(raw.get(c.column) or "")[:60],
                        ),
                        field="file",
                    ) from None
            if row.get("chain_link_id") is not None:
                link = self.links.get((row["cluster_id"], row["chain_link_id"]))
                if link is None:
                    raise ValidationFailed(
                        _l(
                            "%(file)s 第 %(row)s 行「%(column)s」无效：%(value)s",
                            file=f"{name}.xlsx",
                            row=n,
                            column="产业链环节",
                            value=str(row["chain_link_id"])[:60],
                        ),
                        field="file",
                    )
                row["chain_link_id"] = link
            out.append((n, row))
        return out

    # -- each file ----------------------------------------------------------------------
    def departments(self, cols: list[Col]) -> None:
        rows = self.rows("departments", cols)
        new = [r for _n, r in rows if r["code"] not in self.refs["dept"]]
        for r, did in zip(new, allocate_ids(self.s, "department", len(new)), strict=True):
            self.refs["dept"][r["code"]] = did
            r["id"] = did
        _insert_many(self.s, Department.__table__, [_own(r, Department) for r in new])
        for _n, r in rows:
            if r["leads"]:
                self.s.execute(
                    update(Cluster)
                    .where(Cluster.id.in_(r["leads"]))
                    .values(lead_department_id=self.refs["dept"][r["code"]])
                )
        self.counts["departments"] = len(new)

    def users(self, cols: list[Col]) -> None:
        rows = [r for _n, r in self.rows("users", cols)]
        new = [r for r in rows if r["username"] not in self.refs["user"]]
        for r, uid in zip(new, allocate_ids(self.s, "user_account", len(new)), strict=True):
            self.refs["user"][r["username"]] = uid
            r["id"] = uid
            r.setdefault("password_hash", None)
            r["password_hash"] = r["password_hash"] or UNUSABLE_PASSWORD
        _insert_many(self.s, User.__table__, [_own(r, User) for r in new])
        self.counts["users"] = len(new)

    def firms(self, cols: list[Col]) -> None:
        raw = _read(self.path, "firms", cols)
        for _n, r in raw:  # a parent may come after its subsidiary
            if (r.get("id") or "").isdigit():
                self.refs["firm"][r.get("name_zh") or ""] = int(r["id"])
        rows = self.rows("firms", cols, raw)
        good: list[tuple[dict[str, Any], FirmCreate]] = []
        for n, r in rows:
            try:
                data = FirmCreate(
                    name_zh=r["name_zh"] or "",
                    name_en=r["name_en"],
                    aliases=r["aliases"],
                    country=r["country"],
                    headquarters=r["headquarters"],
                    global500_rank=r["global500_rank"],
                    china500_rank=r["china500_rank"],
                    is_leader=r["is_leader"],
                    website=r["website"],
                    credit_code=r["credit_code"],
                    notes=r["notes"],
                )
            except ValidationError as exc:
                e = exc.errors()[0]
                raise ValidationFailed(
                    _l(
                        "%(file)s 第 %(row)s 行「%(column)s」无效：%(value)s",
                        file="firms.xlsx",
                        row=n,
                        column=str(e["loc"][0]) if e.get("loc") else "—",
                        value=str(e.get("input", ""))[:60],
                    ),
                    field="file",
                ) from None
            good.append((r, data))
        # the firm import's row builder (crm/firms/rows.py): normalised name, pinyin, search
        # text, tier and alias rows made as everywhere else; the file's own times and version
        pinyins = pinyin_many([d.name_zh for _r, d in good])
        firm_rows: list[dict[str, Any]] = []
        alias_rows: list[dict[str, Any]] = []
        fc_rows: list[dict[str, int]] = []
        parents: list[tuple[int, int]] = []
        for (rec, d), py in zip(good, pinyins, strict=True):
            own = firm_values(d, source=rec["source"] or "import", now=rec["created_at"], pinyin=py)
            own.update(
                id=rec["id"],
                owner_id=rec["owner_id"],
                parent_id=None,
                updated_at=rec["updated_at"],
                version=rec["version"],
            )
            firm_rows.append(own)
            alias_rows.extend(alias_values(rec["id"], rec["aliases"]))
            fc_rows.extend({"firm_id": rec["id"], "cluster_id": c} for c in rec["clusters"])
            if rec["parent_id"] is not None:
                parents.append((rec["id"], rec["parent_id"]))
        _insert_many(self.s, Firm.__table__, firm_rows)
        _insert_many(self.s, FirmAlias.__table__, alias_rows)
        _insert_many(self.s, FirmCluster.__table__, fc_rows)
        for fid, pid in parents:
            self.s.execute(update(Firm).where(Firm.id == fid).values(parent_id=pid))
        self.counts["firms"] = len(firm_rows)

    def plain(self, name: str, cols: list[Col], model: Any, late: tuple[str, ...] = ()) -> None:
        """Rows that keep their 编号; ``late`` columns (a reference to a row of the same file)
        are set once every row is in."""
        rows = [r for _n, r in self.rows(name, cols)]
        own = [_own(r, model) for r in rows]
        for o in own:
            for c in late:
                o[c] = None
        _insert_many(self.s, model.__table__, own)
        t = model.__table__
        for r in rows:
            for c in late:
                if r[c] is not None:
                    self.s.execute(update(t).where(t.c.id == r["id"]).values({c: r[c]}))
        if name == "activities":
            for col, (link, other) in ACTIVITY_LINKS.items():
                _insert_many(
                    self.s,
                    link.__table__,
                    [{"activity_id": r["id"], other: x} for r in rows for x in r[col]],
                )
        self.counts[name] = len(rows)

    def furthest_stages(self) -> None:
        """Each project's furthest stage reached (``project.furthest_stage``, kept by every stage
        move and not in the files): its stage history's to-stages in order, then its stage."""
        reached: dict[int, str | None] = {}
        for pid, to_stage in self.s.execute(
            select(StageChange.project_id, StageChange.to_stage).order_by(
                StageChange.project_id, StageChange.changed_at, StageChange.id
            )
        ):
            reached[pid] = furthest(reached.get(pid), to_stage)
        by_value: dict[str, list[int]] = {}
        for pid, stage in self.s.execute(select(Project.id, Project.stage)):
            value = furthest(reached.get(pid), stage)
            if value is not None:
                by_value.setdefault(value, []).append(pid)
        for value, ids in by_value.items():
            for at in range(0, len(ids), 5000):  # well inside both databases' parameter limits
                chunk = ids[at : at + 5000]
                self.s.execute(
                    update(Project).where(Project.id.in_(chunk)).values(furthest_stage=value)
                )

    def sequences(self) -> None:
        """PostgreSQL: each kept-id table's sequence moved past the rows it now holds."""
        if not is_postgres(self.s):
            return
        for name, _cols, model in FILES:
            if name in KEPT_IDS:
                t = model.__tablename__
                self.s.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                        f'coalesce((SELECT max(id) FROM "{t}"), 0) + 1, false)'
                    )
                )


def _own(r: dict[str, Any], model: Any) -> dict[str, Any]:
    """The row's values for the table's own columns (list columns left out)."""
    names = set(model.__table__.c.keys())
    return {k: v for k, v in r.items() if k in names}


def import_folder(
    session: Session,
    path: Path,
    actor_id: int | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Read a ``crm export`` folder into this (empty) instance; rows added per file."""
    restore = _Restore(session, path)
    for name, _cols, model in FILES:
        if name in KEPT_IDS and session.scalar(select(func.count()).select_from(model)):
            raise ValidationFailed(
                _l("目标实例不是空的：已有 %(kind)s 数据", kind=name), field="file"
            )
    try:
        # (no savepoints: the caller's transaction holds everything, or nothing)
        for name, cols, model in FILES:
            if name == "departments":
                restore.departments(cols)
            elif name == "users":
                restore.users(cols)
            elif name == "firms":
                restore.firms(cols)
            else:
                late = ("conflict_with_id",) if name == "projects" else ()
                restore.plain(name, cols, model, late)
            session.flush()
            if progress:
                progress(name, restore.counts[name])
    except IntegrityError as exc:
        raise ValidationFailed(
            _l(
                "%(file)s 与已有数据冲突：%(detail)s",
                file=f"{name}.xlsx",
                detail=str(exc.orig)[:200],
            ),
            field="file",
        ) from None
    restore.furthest_stages()
    restore.sequences()
    rebuild_on(session.connection())
    record(
        session,
        actor_id,
        "import",
        "folder",
        None,
        after={"path": str(path)[:300], **restore.counts},
    )
    session.flush()
    return restore.counts
