"""The run's state: the scale, the clock of "days relative to the anchor", the bulk writer
(buffers flushed with Core inserts or driver executemany) and the policy pack's ids."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection

from crm.db import table
from crm.models.policy import ChainLink, Cluster, Park, ParkCluster

SHANGHAI = ZoneInfo("Asia/Shanghai")
_CST = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991


@dataclass(frozen=True)
class Scale:
    firms: int
    contacts: int
    projects: int
    activities: int
    followups: int
    users: int
    departments: int


# one row per scale, a column per field of Scale (a table, aligned by hand: ruff leaves it)
# fmt: off
SCALES: dict[str, Scale] = {
    #               firms  contacts  projects  activities  followups  users  departments
    "small": Scale(   300,      600,      400,      5_000,     1_500,    12,           4),
    "city":  Scale(50_000,  100_000,   20_000,  1_000_000,   200_000,   500,          12),
}
# fmt: on


# --- the run's state --------------------------------------------------------------------------


class FirmInfo:
    """What later steps need to know about a firm (generated or already present)."""

    __slots__ = (
        "clusters",
        "contacts",
        "created_x",
        "domain",
        "domestic",
        "id",
        "owner_id",
        "row",
        "short",
        "tier",
    )

    def __init__(
        self,
        fid: int,
        short: str,
        tier: str,
        clusters: list[int],
        domestic: bool,
        owner_id: int | None,
        created_x: float,
        row: dict[str, Any] | None,
    ) -> None:
        self.id, self.short, self.tier, self.clusters = fid, short, tier, clusters
        self.domestic, self.owner_id, self.created_x, self.row = domestic, owner_id, created_x, row
        self.contacts: list[int] = []
        self.domain = "example.com"


@dataclass
class Run:
    conn: Connection
    rng: random.Random
    scale: Scale
    anchor: date
    batch: int
    progress: Callable[[str], None] | None
    counts: dict[str, int] = field(default_factory=dict)
    # table name → (table, rows, raw INSERT for plain tuples or None for Core with dicts)
    buffers: dict[str, tuple[Table, list[Any], str | None]] = field(default_factory=dict)
    base: datetime = field(init=False)
    now: datetime = field(init=False)

    def __post_init__(self) -> None:
        # the anchor day's local midnight (in UTC); "now" is 08:00 local on the anchor day
        self.base = datetime(
            self.anchor.year, self.anchor.month, self.anchor.day, tzinfo=_CST
        ).astimezone(UTC)
        self.now = self.base + timedelta(hours=8)

    def at(self, x: float) -> datetime:
        """Day ``x`` relative to the anchor day, its fraction mapped into 09:00–18:00 local."""
        day = math.floor(x)
        return self.base + timedelta(days=day, minutes=540 + int((x - day) * 540))

    def day(self, x: float) -> date:
        return self.anchor + timedelta(days=math.floor(x))

    def add(self, table: Table, row: dict[str, Any]) -> None:
        buf = self.buffers.get(table.name)
        if buf is None:
            buf = self.buffers[table.name] = (table, [], None)
        buf[1].append(row)
        if len(buf[1]) >= self.batch:
            self.flush()

    def link_buffer(self, table: Table) -> list[tuple[int, ...]]:
        """A buffer of plain tuples (in column order) for an integer-only link table.

        These are the bulk of the rows and need no type processing, so they go straight to
        the driver's executemany.
        """
        buf = self.buffers.get(table.name)
        if buf is None:
            style = self.conn.dialect.paramstyle
            ph = "?" if style == "qmark" else "%s" if style in ("format", "pyformat") else None
            cols = [c.name for c in table.columns]
            sql = (
                (
                    f"INSERT INTO {table.name} ({', '.join(cols)}) VALUES "
                    f"({', '.join([ph] * len(cols))})"
                )
                if ph
                else None
            )
            buf = self.buffers[table.name] = (table, [], sql)
        return buf[1]

    def full(self) -> None:
        if any(len(b[1]) >= self.batch for b in self.buffers.values()):
            self.flush()

    def flush(self) -> None:
        """Write every buffer, parents first (buffers are registered in dependency order)."""
        for name, (tbl, rows, sql) in self.buffers.items():
            if not rows:
                continue
            if sql is not None:
                self.conn.exec_driver_sql(sql, rows)
            elif rows and isinstance(rows[0], tuple):
                keys = [c.name for c in tbl.columns]
                self.conn.execute(insert(tbl), [dict(zip(keys, r, strict=True)) for r in rows])
            else:
                self.conn.execute(insert(tbl), rows)
            self.counts[name] = self.counts.get(name, 0) + len(rows)
            rows.clear()

    def next_id(self, table: Table) -> int:
        return int(self.conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1

    def say(self, msg: str) -> None:
        if self.progress:
            self.progress(msg)


def pick_cw(rng: random.Random, items: Sequence[Any], cum: list[float]) -> Any:
    return rng.choices(items, cum_weights=cum)[0]


def cum(weights: Iterable[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def yi(v: float) -> Decimal:
    return Decimal(f"{max(v, 0.01):.2f}")


def _short_cluster(name: str) -> str:
    return re.sub(r"（.*?）|\(.*?\)", "", name)


class Policy:
    """Ids and names from the loaded policy pack."""

    def __init__(self) -> None:
        self.codes: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self.lead: dict[int, int | None] = {}
        self.links: dict[int, list[tuple[int, str]]] = {}
        self.parks: list[int] = []
        self.park_names: dict[int, str] = {}
        self.park_code_id: dict[str, int] = {}
        self.guided: dict[int, list[int]] = {}
        self.park_dept: dict[int, int] = {}

    @classmethod
    def load(cls, conn: Connection) -> Policy:
        p = cls()
        # Core columns: the rows come back as plain values (ids never None)
        cl, ln, pk, pc = (table(m).c for m in (Cluster, ChainLink, Park, ParkCluster))
        for cid, code, name, lead in conn.execute(
            select(
                cl.id,
                cl.code,
                cl.name_zh,
                cl.lead_department_id,
            ).order_by(cl.sort_order, cl.id)
        ):
            p.codes[cid], p.names[cid], p.lead[cid] = code, _short_cluster(name), lead
            p.links[cid] = []
        if not p.codes:
            raise RuntimeError("no clusters: run the migrations and load the policy pack first")
        for lid, cid, name in conn.execute(
            select(ln.id, ln.cluster_id, ln.name_zh).order_by(ln.cluster_id, ln.sort_order, ln.id)
        ):
            p.links.setdefault(cid, []).append((lid, _short_cluster(name)))
        for pid, code, name in conn.execute(
            select(pk.id, pk.code, pk.name_zh).order_by(pk.sort_order, pk.id)
        ):
            p.parks.append(pid)
            p.park_names[pid], p.park_code_id[code] = name, pid
        for pid, cid in conn.execute(
            select(pc.park_id, pc.cluster_id).order_by(pc.cluster_id, pc.park_id)
        ):
            p.guided.setdefault(cid, []).append(pid)
        return p
