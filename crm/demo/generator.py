"""Demo data: a deterministic, realistic investment-promotion workload (SPEC §9 "city" scale).

Rows go in with SQLAlchemy Core ``insert()`` in batches (the integer-only link tables, most of
the rows, as plain tuples through the driver's executemany); ids are assigned here
(max(id)+1 on), so nothing needs RETURNING. The policy pack (clusters, chain links, parks) must
be loaded first; firms already present (the pack's named firms) get projects and contacts too.
Times are generated as "days relative to the anchor day" (negative = past) and mapped into
office hours in Asia/Shanghai; the wall clock is never read except to default the anchor.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from crm.accounts.models import Department, User
from crm.accounts.passwords import hash_password
from crm.activities.models import (
    Activity,
    ActivityContact,
    ActivityFirm,
    ActivityOfficer,
    ActivityProject,
)
from crm.demo import names as N
from crm.demo.password import DEMO_PASSWORD
from crm.firms.models import Contact, Firm, FirmAlias, FirmCluster, derive_tier
from crm.followups.models import Followup
from crm.policy.models import ChainLink, Cluster, Park, ParkCluster
from crm.projects.models import CapitalArrival, Project, StageChange
from crm.summaries.fill import rebuild_on
from crm.text import credit_code_check_digit, normalize_name, search_blob, to_pinyin
from crm.vocabulary import Stage, values

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


SCALES: dict[str, Scale] = {
    "small": Scale(
        firms=300,
        contacts=600,
        projects=400,
        activities=5_000,
        followups=1_500,
        users=12,
        departments=4,
    ),
    "city": Scale(
        firms=50_000,
        contacts=100_000,
        projects=20_000,
        activities=1_000_000,
        followups=200_000,
        users=500,
        departments=12,
    ),
}


def demo_login(password: str = DEMO_PASSWORD) -> list[tuple[str, str, str]]:
    """(username, role, password) of the demo users worth printing after a load."""
    return [
        ("admin", "admin", password),
        ("manager01", "manager", password),
        ("officer001", "officer", password),
    ]


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
        for name, (table, rows, sql) in self.buffers.items():
            if not rows:
                continue
            if sql is not None:
                self.conn.exec_driver_sql(sql, rows)
            elif rows and isinstance(rows[0], tuple):
                keys = [c.name for c in table.columns]
                self.conn.execute(insert(table), [dict(zip(keys, r, strict=True)) for r in rows])
            else:
                self.conn.execute(insert(table), rows)
            self.counts[name] = self.counts.get(name, 0) + len(rows)
            rows.clear()

    def next_id(self, table: Table) -> int:
        return int(self.conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1

    def say(self, msg: str) -> None:
        if self.progress:
            self.progress(msg)


def _pick_cw(rng: random.Random, items: list[Any], cum: list[float]) -> Any:
    return rng.choices(items, cum_weights=cum)[0]


def _cum(weights: Iterable[float]) -> list[float]:
    out: list[float] = []
    total = 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _yi(v: float) -> Decimal:
    return Decimal(f"{max(v, 0.01):.2f}")


def _short_cluster(name: str) -> str:
    return re.sub(r"（.*?）|\(.*?\)", "", name)


# --- the entry point ----------------------------------------------------------------------------


def generate(
    target: Session | Engine | Connection,
    scale: str | Scale = "small",
    seed: int = 42,
    *,
    anchor: date | None = None,
    password: str = DEMO_PASSWORD,
    password_hash: str | None = None,
    batch_size: int = 10_000,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Fill a migrated database that holds the policy pack with demo data; counts per table.

    With an Engine the load runs in its own transaction and commits; with a Session or a
    Connection it runs in the caller's transaction, which the caller commits.
    """
    sc = SCALES[scale] if isinstance(scale, str) else scale
    day0 = anchor or datetime.now(SHANGHAI).date()
    if password_hash is None:
        password_hash = hash_password(password)  # once: argon2 is slow on purpose
    if isinstance(target, Engine):
        with target.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # rows are consistent by construction; skip the per-row FK lookups
                _foreign_keys(conn, False)
            try:
                with conn.begin():
                    return _generate(
                        Run(conn, random.Random(seed), sc, day0, batch_size, progress),
                        password_hash,
                    )
            finally:
                if sqlite:
                    _foreign_keys(conn, True)
    conn = target.connection() if isinstance(target, Session) else target
    return _generate(Run(conn, random.Random(seed), sc, day0, batch_size, progress), password_hash)


def _foreign_keys(conn: Connection, on: bool) -> None:
    """Outside any transaction (SQLite ignores the pragma inside one), on the DBAPI level."""
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cur.close()


def _generate(run: Run, password_hash: str) -> dict[str, int]:
    conn = run.conn
    if conn.execute(select(User.id).where(User.username == "officer001")).first():
        raise RuntimeError("demo data is already loaded (user officer001 exists)")
    pol = _Policy.load(conn)
    depts = _departments(run)
    for cid, code in pol.codes.items():
        want = N.LEAD_DEPARTMENT.get(code)
        if pol.lead.get(cid) is None and want and want in depts:
            conn.execute(
                update(Cluster.__table__)
                .where(Cluster.id == cid)
                .values(lead_department_id=depts[want][0])
            )
    pol.park_dept = {
        pol.park_code_id[code]: did
        for did, code in depts.values()
        if code and code in pol.park_code_id
    }
    staff = _users(run, [d for d, _ in depts.values()], password_hash)
    run.say(f"users: {run.counts.get('user_account', 0)}")
    firms = _plan_firms(run, pol, staff)
    plans = _plan_projects(run, pol, staff, firms)
    _write_firms(run, firms)
    run.say(f"firms: {run.counts.get('firm', 0)}")
    _contacts(run, firms)
    run.say(f"contacts: {run.counts.get('contact', 0)}")
    _write_projects(run, staff, plans)
    run.say(f"projects: {run.counts.get('project', 0)}")
    sample = _activities(run, pol, staff, firms, plans)
    run.say(f"activities: {run.counts.get('activity', 0)}")
    _followups(run, staff, firms, plans, sample)
    run.flush()
    for p in plans:  # the 撞单 pair refers both ways: set once both rows exist
        if p.conflict is not None:
            conn.execute(
                update(Project.__table__)
                .where(Project.id == p.id)
                .values(conflict_with_id=p.conflict)
            )
    rebuild_on(conn)  # the per-officer-per-week rollups, up to the open week
    if conn.dialect.name == "postgresql":  # ids were given explicitly: move the sequences on
        for name, (table, _rows, _sql) in run.buffers.items():
            if "id" in table.c and table.c.id.primary_key:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
    run.say(f"follow-ups: {run.counts.get('followup', 0)}")
    for t in (
        "department",
        "user_account",
        "firm",
        "firm_alias",
        "firm_cluster",
        "contact",
        "project",
        "stage_change",
        "capital_arrival",
        "activity",
        "activity_firm",
        "activity_project",
        "activity_contact",
        "activity_officer",
        "followup",
    ):
        run.counts.setdefault(t, 0)
    return dict(sorted(run.counts.items()))


class _Policy:
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
    def load(cls, conn: Connection) -> _Policy:
        p = cls()
        for cid, code, name, lead in conn.execute(
            select(Cluster.id, Cluster.code, Cluster.name_zh, Cluster.lead_department_id).order_by(
                Cluster.sort_order, Cluster.id
            )
        ):
            p.codes[cid], p.names[cid], p.lead[cid] = code, _short_cluster(name), lead
            p.links[cid] = []
        if not p.codes:
            raise RuntimeError("no clusters: run the migrations and load the policy pack first")
        for lid, cid, name in conn.execute(
            select(ChainLink.id, ChainLink.cluster_id, ChainLink.name_zh).order_by(
                ChainLink.cluster_id, ChainLink.sort_order, ChainLink.id
            )
        ):
            p.links.setdefault(cid, []).append((lid, _short_cluster(name)))
        for pid, code, name in conn.execute(
            select(Park.id, Park.code, Park.name_zh).order_by(Park.sort_order, Park.id)
        ):
            p.parks.append(pid)
            p.park_names[pid], p.park_code_id[code] = name, pid
        for pid, cid in conn.execute(
            select(ParkCluster.park_id, ParkCluster.cluster_id).order_by(
                ParkCluster.cluster_id, ParkCluster.park_id
            )
        ):
            p.guided.setdefault(cid, []).append(pid)
        return p


@dataclass
class _Staff:
    officers: list[int]
    dept_of: dict[int, int]
    by_dept: dict[int, list[int]]
    managers: dict[int, int]


def _cn_name(rng: random.Random) -> str:
    given = "".join(rng.choice(N.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(N.SURNAMES) + given


def _departments(run: Run) -> dict[str, tuple[int, str | None]]:
    t = Department.__table__
    have = {name: did for did, name in run.conn.execute(select(t.c.id, t.c.name))}
    codes = set(run.conn.execute(select(t.c.code)).scalars())
    nid = run.next_id(t)
    out: dict[str, tuple[int, str | None]] = {}
    for name, code, park in N.DEPARTMENTS[: run.scale.departments]:
        did = have.get(name)
        if did is None:
            did, nid = nid, nid + 1
            run.add(
                t,
                {
                    "id": did,
                    "name": name,
                    "code": code if code not in codes else f"{code}-{did}",
                    "webhook_kind": None,
                    "webhook_url": None,
                    "webhook_secret": None,
                    "created_at": run.at(-3300),
                    "version": 1,
                },
            )
        out[name] = (did, park)
    run.flush()
    return out


def _users(run: Run, dept_ids: list[int], password_hash: str) -> _Staff:
    rng, t = run.rng, User.__table__
    admin = run.conn.execute(select(t.c.id).where(t.c.username == "admin")).scalar()
    n_mgr = min(len(dept_ids), max(1, run.scale.users // 4))
    n_off = run.scale.users - 1 - n_mgr
    nid = run.next_id(t)
    staff = _Staff([], {}, {d: [] for d in dept_ids}, {})
    weights = _cum(2.0 if i < 3 else 1.0 for i in range(len(dept_ids)))

    def add(username: str, display: str, role: str, dept: int) -> int:
        nonlocal nid
        uid, nid = nid, nid + 1
        created = run.at(-3200 + rng.uniform(0, 200))
        run.add(
            t,
            {
                "id": uid,
                "username": username,
                "display_name": display,
                "email": f"{username}@demo.example.com",
                "role": role,
                "department_id": dept,
                "password_hash": password_hash,
                "is_active": True,
                "language": "zh_CN",
                "session_version": 1,
                "failed_logins": 0,
                "locked_until": None,
                "ical_token": None,
                "created_at": created,
                "last_login_at": None,
                "password_changed_at": created,
                "version": 1,
            },
        )
        return uid

    if admin is None:
        add("admin", "系统管理员", "admin", dept_ids[0])
    for i in range(n_mgr):
        staff.managers[dept_ids[i]] = add(
            f"manager{i + 1:02d}", _cn_name(rng), "manager", dept_ids[i]
        )
    for i in range(n_off):
        dept = dept_ids[i] if i < len(dept_ids) else _pick_cw(rng, dept_ids, weights)
        uid = add(f"officer{i + 1:03d}", _cn_name(rng), "officer", dept)
        staff.officers.append(uid)
        staff.dept_of[uid] = dept
        staff.by_dept[dept].append(uid)
    staff.by_dept = {d: o for d, o in staff.by_dept.items() if o}
    run.flush()
    return staff


# --- firms ------------------------------------------------------------------------------------

_TIER_W = {"global500": 6.0, "china500": 4.0, "leader": 3.0, "other": 1.0}
_COUNTRY_CW = _cum(c[1] for c in N.COUNTRIES)
_CREDIT = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _brand(rng: random.Random) -> str:
    a = rng.choice(N.BRAND_CHARS)
    b = rng.choice(N.BRAND_CHARS)
    return a + b if a != b else a + rng.choice("达通")


def _domestic(
    rng: random.Random,
    ind: tuple[str, str],
    group: bool,
    greater_china: bool,
) -> tuple[str, str, str, str, str]:
    """(name_zh, name_en, short name, brand_zh, brand_en) of a Chinese-style firm."""
    b = _brand(rng)
    b_en = to_pinyin(b)[0].capitalize()
    form_zh, form_en = ("", "") if group else rng.choice(N.FORMS)
    place_zh, place_en = ("", "") if greater_china or rng.random() < 0.3 else rng.choice(N.PLACES)
    if place_zh == "中国" and rng.random() < 0.5:
        place_en = "Sino"
    suffix = N.GROUP_SUFFIX_ZH if group else rng.choice(N.SUFFIXES_ZH)
    core = b + ind[0] + form_zh
    zh = (
        f"{core}（{place_zh}）{suffix}"
        if place_zh and rng.random() < 0.15
        else place_zh + core + suffix
    )
    en = " ".join(
        x
        for x in (place_en, b_en, ind[1], form_en, "Group Co., Ltd." if group else "Co., Ltd.")
        if x
    )
    return zh, en, b + ind[0], b, b_en


def _foreign(
    rng: random.Random,
    ind: tuple[str, str],
    group: bool,
    forms: tuple[str, ...],
) -> tuple[str, str, str, str, str]:
    head, tail = rng.choice(N.FOREIGN_HEADS), rng.choice(N.FOREIGN_TAILS)
    b_zh, b_en = head[1] + tail[1], head[0] + tail[0]
    if group:
        tail_zh = "株式会社" if "K.K." in forms else rng.choice(("集团", "集团公司", "公司"))
        return b_zh + ind[0] + tail_zh, f"{b_en} {rng.choice(forms)}", b_zh, b_zh, b_en
    return (
        b_zh + ind[0] + rng.choice(N.FOREIGN_ZH_FORMS),
        f"{b_en} {ind[1]} {rng.choice(forms)}",
        b_zh + ind[0],
        b_zh,
        b_en,
    )


def _credit_code(rng: random.Random, taken: set[str]) -> str:
    while True:
        body = "91" + rng.choice(N.REGION_CODES) + "".join(rng.choice(_CREDIT) for _ in range(9))
        code = body + credit_code_check_digit(body)
        if code not in taken:
            taken.add(code)
            return code


def _plan_firms(run: Run, pol: _Policy, staff: _Staff) -> list[FirmInfo]:
    """Existing firms (e.g. the pack's named firms) first, then the generated ones (not written)."""
    rng, conn = run.rng, run.conn
    fc: dict[int, list[int]] = {}
    for fid, cid in conn.execute(
        select(FirmCluster.firm_id, FirmCluster.cluster_id).order_by(
            FirmCluster.firm_id, FirmCluster.cluster_id
        )
    ):
        fc.setdefault(fid, []).append(cid)
    firms: list[FirmInfo] = []
    norms: set[str] = set()
    for fid, name, norm, tier, country, owner in conn.execute(
        select(
            Firm.id, Firm.name_zh, Firm.name_norm, Firm.tier, Firm.country, Firm.owner_id
        ).order_by(Firm.id)
    ):
        norms.add(norm)
        info = FirmInfo(
            fid,
            re.sub(r"(（.*?）)?(集团)?(股份)?有限(责任)?公司$", "", name),
            tier,
            fc.get(fid, []),
            country in (None, "中国"),
            owner,
            -3000.0,
            None,
        )
        firms.append(info)
    credit = set(
        conn.execute(select(Firm.credit_code).where(Firm.credit_code.is_not(None))).scalars()
    )
    cids = list(pol.codes)
    nid = run.next_id(Firm.__table__)
    groups: list[tuple[FirmInfo, str, str, str]] = []  # (firm, brand_zh, brand_en, country)
    for _ in range(run.scale.firms):
        r = rng.random()
        tier = (
            "global500"
            if r < 0.03
            else "china500"
            if r < 0.11
            else "leader"
            if r < 0.21
            else "other"
        )
        cid = rng.choice(cids)
        inds = N.INDUSTRY.get(pol.codes[cid], N.GENERIC_INDUSTRY)
        parent = (
            rng.choice(groups)
            if groups and tier in ("leader", "other") and rng.random() < 0.07
            else None
        )
        if parent is not None:
            country = parent[3]
        elif tier == "china500" or rng.random() >= {"global500": 0.6, "leader": 0.2}.get(
            tier, 0.12
        ):
            country = "中国"
        else:
            country = _pick_cw(rng, N.COUNTRIES, _COUNTRY_CW)[0]
        spec = next(c for c in N.COUNTRIES if c[0] == country) if country != "中国" else None
        group = tier in ("global500", "china500") and (spec is not None or rng.random() < 0.6)
        for _attempt in range(200):
            ind = rng.choice(inds)
            if parent is not None and _attempt < 20:
                city = rng.choice(N.SUBSIDIARY_CITIES)
                zh = f"{parent[1]}{ind[0]}（{city[0]}）有限公司"
                en = f"{parent[2]} {ind[1]} ({city[1]}) Co., Ltd."
                short, b_zh, b_en = parent[1] + ind[0], parent[1], parent[2]
            elif spec is None or country in ("中国台湾", "中国香港"):
                zh, en, short, b_zh, b_en = _domestic(rng, ind, group, spec is not None)
            else:
                zh, en, short, b_zh, b_en = _foreign(rng, ind, group, spec[2])
            norm = normalize_name(zh)
            if norm and norm not in norms:
                break
        else:
            raise RuntimeError("could not find a free firm name")
        norms.add(norm)
        g500 = rng.randint(1, 500) if tier == "global500" else None
        c500 = (
            rng.randint(1, 500)
            if tier == "china500" or (g500 and country == "中国" and rng.random() < 0.4)
            else None
        )
        leader = tier == "leader" or (tier != "other" and rng.random() < 0.3)
        aliases: list[str] = []
        if group or rng.random() < 0.2:
            cands = [short, b_zh + "集团" if group else b_zh, b_en, f"{b_en} {ind[1]}"]
            seen = {norm}
            for a in rng.sample(cands, rng.choice((1, 1, 2))):
                an = normalize_name(a)
                if an and an not in seen and len(a) >= 2:
                    seen.add(an)
                    aliases.append(a)
        clusters = [cid]
        if parent is not None and parent[0].clusters and parent[0].clusters[0] != cid:
            clusters.append(parent[0].clusters[0])
        elif rng.random() < 0.15:
            other = rng.choice(cids)
            if other != cid:
                clusters.append(other)
        slug = re.sub(r"[^a-z]", "", b_en.lower()) or "firm"
        domain = f"{slug}{rng.randint(1, 99) if rng.random() < 0.3 else ''}." + (
            "com.cn" if country == "中国" else "com"
        )
        place = next((p for p, _ in N.PLACES if zh.startswith(p)), None)
        hq = (
            rng.choice(spec[3])
            if spec is not None
            else "重庆"
            if place in N.CHONGQING_PLACES
            else "北京"
            if place in ("中国", "中电")
            else place or rng.choice(("重庆", "北京", "深圳"))
        )
        owner = rng.choice(staff.officers) if rng.random() < 0.7 else None
        row = {
            "id": nid,
            "name_zh": zh,
            "name_en": en if spec is not None or rng.random() < 0.45 else None,
            "name_norm": norm,
            "country": country,
            "headquarters": hq,
            "global500_rank": g500,
            "china500_rank": c500,
            "is_leader": leader,
            "website": f"https://www.{domain}" if rng.random() < 0.55 else None,
            "credit_code": _credit_code(rng, credit)
            if country == "中国" and rng.random() < 0.85
            else None,
            "parent_id": parent[0].id if parent is not None else None,
            "owner_id": owner,
            "notes": None,
            "source": "demo",
            "version": 1,
            "_aliases": aliases,
        }
        row["tier"] = derive_tier(g500, c500, leader)
        info = FirmInfo(
            nid, short, row["tier"], clusters, country == "中国", owner, -rng.uniform(1, 2900), row
        )
        info.domain = domain
        firms.append(info)
        if group:
            groups.append((info, b_zh, b_en, country))
        nid += 1
    return firms


def _write_firms(run: Run, firms: list[FirmInfo]) -> None:
    rng = run.rng
    ft, at = Firm.__table__, FirmAlias.__table__
    aid = run.next_id(at)
    for t in (ft, at):  # parents first when the buffers flush
        run.buffers.setdefault(t.name, (t, [], None))
    fc = run.link_buffer(FirmCluster.__table__)
    for f in firms:
        row = f.row
        if row is None:
            continue
        aliases = row.pop("_aliases")
        row["name_pinyin"], row["name_initials"] = to_pinyin(row["name_zh"])
        row["search_text"] = search_blob([row["name_zh"], row["name_en"], *aliases])
        row["created_at"] = run.at(f.created_x)
        row["updated_at"] = run.at(rng.uniform(f.created_x, -0.01))
        run.add(ft, row)
        for a in aliases:
            run.add(at, {"id": aid, "firm_id": f.id, "alias": a, "alias_norm": normalize_name(a)})
            aid += 1
        for cid in f.clusters:
            fc.append((f.id, cid))
    run.flush()


def _contacts(run: Run, firms: list[FirmInfo]) -> None:
    rng, t = run.rng, Contact.__table__
    n = run.scale.contacts
    per = [1 if i < n else 0 for i in range(len(firms))]
    cw = _cum(_TIER_W[f.tier] for f in firms)
    for i in rng.choices(range(len(firms)), cum_weights=cw, k=max(0, n - len(firms))):
        per[i] += 1
    cid = run.next_id(t)
    for f, k in zip(firms, per, strict=True):
        for _ in range(k):
            if not f.domestic and rng.random() < 0.5:
                name = f"{rng.choice(N.ENGLISH_GIVEN)} {rng.choice(N.ENGLISH_SURNAMES)}"
                local = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore")
                local_s = local.decode().replace(" ", ".").replace("-", "")
            else:
                name = _cn_name(rng)
                local_s = to_pinyin(name)[0] + (
                    str(rng.randint(1, 99)) if rng.random() < 0.3 else ""
                )
            phone = (
                f"023-6{rng.randrange(10**7):07d}"
                if f.domestic and rng.random() < 0.3
                else f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
            )
            x = rng.uniform(max(f.created_x, -2900), -0.01)
            created = run.at(x)
            run.add(
                t,
                {
                    "id": cid,
                    "firm_id": f.id,
                    "name": name,
                    "title": rng.choice(N.CONTACT_TITLES),
                    "phone": phone,
                    "email": f"{local_s}@{f.domain}" if rng.random() < 0.8 else None,
                    "wechat": f"wx_{local_s[:12]}{rng.randint(10, 999)}"
                    if rng.random() < 0.3
                    else None,
                    "notes": None,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                },
            )
            f.contacts.append(cid)
            cid += 1
    run.flush()


# --- projects ---------------------------------------------------------------------------------

_STAGES = values(Stage)  # pipeline order, then lost
# the demo's coverage shows all three states: in one cluster the major investors are still being
# courted (none signed), in another every major investor's project was lost (a gap)
DEMO_PURSUING = "INST"
DEMO_GAP = "LIGHT"
_STAGE_CW = _cum((27, 22, 15, 10, 8, 8, 10))
_GAPS = {
    "contacted": (0.5, 30),
    "negotiating": (20, 200),
    "signed": (30, 240),
    "landed": (60, 365),
    "operating": (120, 540),
    "lost": (20, 300),
}
_AGE = {
    "lead": 240,
    "contacted": 300,
    "negotiating": 300,
    "signed": 400,
    "landed": 500,
    "operating": 800,
    "lost": 900,
}
_ACT_W = {
    "contacted": 1.0,
    "negotiating": 2.5,
    "signed": 3.5,
    "landed": 4.0,
    "operating": 4.5,
    "lost": 1.2,
}


class _Plan:
    __slots__ = (
        "cluster",
        "cname",
        "conflict",
        "dept",
        "end_x",
        "extra",
        "firm",
        "fixed",
        "id",
        "link",
        "owner",
        "park",
        "path",
        "stage",
    )


def _plan_projects(run: Run, pol: _Policy, staff: _Staff, firms: list[FirmInfo]) -> list[_Plan]:
    rng = run.rng
    cw = _cum(_TIER_W[f.tier] for f in firms)
    cids = list(pol.codes)
    queue = [f for f in firms if f.row is None for _ in range(rng.randint(1, 3))]
    used: set[tuple[int, int]] = set()
    plans: list[_Plan] = []
    nid = run.next_id(Project.__table__)
    while len(plans) < run.scale.projects:
        firm = queue.pop(0) if queue else _pick_cw(rng, firms, cw)
        opts = [c for c in firm.clusters if (firm.id, c) not in used]
        cid = rng.choice(opts) if opts and rng.random() < 0.85 else rng.choice(cids)
        if (firm.id, cid) in used:
            continue
        used.add((firm.id, cid))
        p = _Plan()
        p.id, p.firm, p.cluster, p.cname = nid, firm, cid, pol.names[cid]
        p.conflict = None
        nid += 1
        r = rng.random()
        guided = pol.guided.get(cid) or pol.parks
        p.park = rng.choice(guided) if r < 0.8 else rng.choice(pol.parks) if r < 0.9 else None
        dept = pol.park_dept.get(p.park) if p.park else None
        if dept in staff.by_dept and rng.random() < 0.75:
            p.owner = rng.choice(staff.by_dept[dept])
        elif firm.owner_id in staff.dept_of and rng.random() < 0.6:
            p.owner = firm.owner_id
        else:
            p.owner = rng.choice(staff.officers)
        p.dept = staff.dept_of[p.owner]
        links = pol.links.get(cid)
        p.link = rng.choice(links) if links and rng.random() < 0.85 else None
        p.stage = _pick_cw(rng, _STAGES, _STAGE_CW)
        if firm.tier != "other":  # what the coverage report is for (SPEC §5)
            if pol.codes[cid] == DEMO_PURSUING and p.stage in ("signed", "landed", "operating"):
                p.stage = "negotiating"
            elif pol.codes[cid] == DEMO_GAP:
                p.stage = "lost"
        if p.stage == "lost":
            pre = _pick_cw(rng, _STAGES[:4], _cum((25, 35, 33, 7)))
            steps = [*_STAGES[: _STAGES.index(pre) + 1], "lost"]
        else:
            steps = list(_STAGES[: _STAGES.index(p.stage) + 1])
        gaps = [rng.uniform(*_GAPS[s]) for s in steps[1:]]
        x = -(sum(gaps) + rng.uniform(1, _AGE[p.stage]))
        p.path = [(steps[0], x)]
        for s, g in zip(steps[1:], gaps, strict=True):
            x += g
            p.path.append((s, x))
        firm.created_x = min(firm.created_x, p.path[0][1] - rng.uniform(0.5, 60))
        # the activities: the first contact, the signing, the latest contact, and extras
        when = dict(p.path)
        p.fixed, p.extra, p.end_x = [], 0, None
        if "contacted" in when:
            xc = when["contacted"]
            p.fixed.append((xc, rng.choice(("visit", "call", "email", "meeting"))))
            if "signed" in when:
                p.fixed.append((when["signed"], "signing"))
            last = max(x for s, x in p.path if s != "lost")
            if p.stage == "lost":
                end = max(last, when["lost"] - rng.uniform(0, 20))
            else:
                age = rng.uniform(0.05, 30) if rng.random() < 0.7 else rng.uniform(30, 200)
                end = min(max(last, -age), -0.01)
            if end > max(x for x, _ in p.fixed) + 0.01:
                p.fixed.append((end, None))
            p.end_x = max(x for x, _ in p.fixed)
        plans.append(p)
    _conflict_pair(plans, pol)
    # spread the project-bound share of the activities over the contacted projects
    fixed = sum(len(p.fixed) for p in plans)
    if fixed > run.scale.activities:
        raise RuntimeError("too few activities for the projects at this scale")
    extra = max(0, int(run.scale.activities * 0.72) - fixed)
    elig = [p for p in plans if p.end_x is not None and p.end_x - p.fixed[0][0] > 2]
    if elig and extra:
        w = [_ACT_W[p.stage] * rng.uniform(0.5, 1.5) for p in elig]
        total = sum(w)
        for p, wi in zip(elig, w, strict=True):
            p.extra = int(extra * wi / total)
        for p in rng.choices(elig, weights=w, k=extra - sum(p.extra for p in elig)):
            p.extra += 1
    return plans


def _conflict_pair(plans: list[_Plan], pol: _Policy) -> None:
    """One deliberate 撞单 (SPEC §3): a second department opened a project for a firm and
    cluster that another department was already pursuing; both are flagged, and the first to
    report keeps priority. The later plan takes over the earlier one's firm and cluster."""
    active = ("lead", "contacted", "negotiating")
    firsts = [p for p in plans if p.stage in active and p.firm.tier == "global500"]
    for a in firsts:
        b = next(
            (
                p
                for p in reversed(plans)
                if p.stage in active
                and p.dept != a.dept
                and p.path[0][1] > a.path[0][1]
                and p.firm is not a.firm
            ),
            None,
        )
        if b is None:
            continue
        b.firm, b.cluster, b.cname = a.firm, a.cluster, pol.names[a.cluster]
        if b.link is not None:
            b.link = a.link
        a.conflict, b.conflict = b.id, a.id
        return


def _amounts(rng: random.Random, tier: str) -> tuple[Decimal, Decimal, int]:
    if rng.random() < 0.01:
        inv = rng.uniform(100, 600)
    else:
        inv = math.exp(rng.gauss(math.log(6), 1.0)) * {
            "global500": 3.0,
            "china500": 2.5,
            "leader": 1.8,
        }.get(tier, 1.0)
        inv = min(max(inv, 0.3), 900)
    return _yi(inv), _yi(inv * rng.uniform(0.6, 3.0)), max(20, int(inv * rng.uniform(15, 80)))


def _write_projects(run: Run, staff: _Staff, plans: list[_Plan]) -> None:
    rng = run.rng
    pt, st, ct = Project.__table__, StageChange.__table__, CapitalArrival.__table__
    sid, cid = run.next_id(st), run.next_id(ct)
    for p in plans:
        when = dict(p.path)
        inv, out, jobs = _amounts(rng, p.firm.tier)
        if p.stage == "lead" and rng.random() < 0.1:
            inv, out, jobs = None, None, None  # not known yet
        link_name = p.link[1] if p.link else p.cname
        title = rng.choice(N.PROJECT_TITLES).format(
            firm=p.firm.short, link=link_name, cluster=p.cname
        )
        xs, xl, xo = when.get("signed"), when.get("landed"), when.get("operating")
        e_sign = (
            run.day(xs + rng.uniform(-60, 30)) if xs is not None else run.day(rng.uniform(-30, 365))
        )
        e_land = e_sign + timedelta(days=rng.randint(90, 365))
        e_oper = e_land + timedelta(days=rng.randint(180, 540))
        first = run.at(p.fixed[0][0]) if p.fixed else None
        last = run.at(p.end_x) if p.end_x is not None else None
        changed = run.at(p.path[-1][1])
        lost_reason = rng.choice(N.LOST_REASONS) if p.stage == "lost" else None
        conf = rng.random() < 0.05
        run.add(
            pt,
            {
                "id": p.id,
                "title": title[:200],
                "firm_id": p.firm.id,
                "cluster_id": p.cluster,
                "park_id": p.park,
                "chain_link_id": p.link[0] if p.link else None,
                "stage": p.stage,
                "lost_reason": lost_reason,
                "planned_investment": inv,
                "expected_output": out,
                "expected_jobs": jobs,
                "actual_jobs": int(jobs * rng.uniform(0.2, 0.8))
                if jobs and xl is not None and xo is None
                else int(jobs * rng.uniform(0.6, 1.2))
                if jobs and xo is not None
                else None,
                "expected_sign_date": e_sign,
                "actual_sign_date": run.day(xs) if xs else None,
                "expected_land_date": e_land,
                "actual_land_date": run.day(xl) if xl else None,
                "expected_operate_date": e_oper,
                "actual_operate_date": run.day(xo) if xo else None,
                "owner_id": p.owner,
                "department_id": p.dept,
                "is_confidential": conf,
                "code_name": f"{rng.choice(N.CODE_NAME_WORDS)}-{rng.randint(1, 99):02d}项目"
                if conf
                else None,
                "conflict_with_id": None,
                "notes": None,
                "created_at": run.at(p.path[0][1]),
                "updated_at": max(changed, last or changed),
                "stage_changed_at": changed,
                "first_contact_at": first,
                "last_activity_at": last,
                "version": len(p.path),
            },
        )
        prev = None
        for s, x in p.path:
            by = p.owner if rng.random() < 0.85 else staff.managers.get(p.dept, p.owner)
            run.add(
                st,
                {
                    "id": sid,
                    "project_id": p.id,
                    "from_stage": prev,
                    "to_stage": s,
                    "reason": lost_reason if s == "lost" else None,
                    "changed_by_id": by,
                    "changed_at": run.at(x),
                },
            )
            sid, prev = sid + 1, s
        share = {
            "signed": (0.5, 0.05, 0.3),
            "landed": (0.9, 0.2, 0.8),
            "operating": (1.0, 0.5, 0.98),
        }.get(p.stage)
        if share and inv is not None and xs is not None and rng.random() < share[0]:
            k = rng.randint(1, 4)
            parts = [rng.random() + 0.2 for _ in range(k)]
            total = float(inv) * rng.uniform(share[1], share[2])
            for i, x in enumerate(sorted(rng.uniform(xs, -0.5) for _ in range(k))):
                amount = math.floor(total * parts[i] / sum(parts) * 100) / 100
                if amount >= 0.01:
                    run.add(
                        ct,
                        {
                            "id": cid,
                            "project_id": p.id,
                            "amount": Decimal(f"{amount:.2f}"),
                            "arrived_on": run.day(x),
                            "note": f"第{i + 1}笔到资",
                            "created_by_id": p.owner,
                            "created_at": run.at(x),
                        },
                    )
                    cid += 1
    run.flush()


# --- activities and follow-ups ------------------------------------------------------------------

_KINDS = [k for k, _ in N.ACTIVITY_KINDS]
_KIND_CW = _cum(w for _, w in N.ACTIVITY_KINDS)


def _activities(
    run: Run, pol: _Policy, staff: _Staff, firms: list[FirmInfo], plans: list[_Plan]
) -> list[tuple[int, float, FirmInfo, _Plan | None, int]]:
    """Write every activity with its links; return a sample for follow-ups to hang on."""
    rng = run.rng
    at, aft, apt = Activity.__table__, ActivityFirm.__table__, ActivityProject.__table__
    act, aot = ActivityContact.__table__, ActivityOfficer.__table__
    run.buffers.setdefault(at.name, (at, [], None))  # parents first when the buffers flush
    b_firm, b_proj, b_contact, b_officer = (run.link_buffer(t) for t in (aft, apt, act, aot))
    cw = _cum(_TIER_W[f.tier] for f in firms)
    keep = min(1.0, 3 * 0.3 * run.scale.followups / max(1, run.scale.activities))
    sample: list[tuple[int, float, FirmInfo, _Plan | None, int]] = []
    aid = run.next_id(at)

    def emit(
        x: float,
        kind: str | None,
        firm: FirmInfo,
        plan: _Plan | None,
        owner: int,
        cluster: int | None,
        park: int | None,
    ) -> None:
        nonlocal aid
        kind = kind or _pick_cw(rng, _KINDS, _KIND_CW)
        dept = staff.dept_of[owner]
        team = staff.by_dept[dept]
        creator = owner if rng.random() < 0.8 else rng.choice(team)
        officers = {creator}
        if rng.random() < 0.25 or kind == "delegation":
            officers.update(rng.sample(team, min(len(team), rng.randint(1, 3))))
        ids = [firm.id]
        shorts = [firm.short]
        if kind == "delegation":
            for _ in range(rng.randint(1, 4)):
                other = _pick_cw(rng, firms, cw)
                if other.id not in ids:
                    ids.append(other.id)
                    shorts.append(other.short)
        summary = rng.choice(N.ACTIVITY_TEMPLATES[kind]).format(
            firm="、".join(shorts[:3]),
            title=rng.choice(N.CONTACT_TITLES),
            park=pol.park_names[park] if park else "重庆",
            cluster=pol.names[cluster] if cluster else "战略性新兴产业",
            topic=rng.choice(N.TOPICS),
            city=rng.choice(N.DELEGATION_CITIES),
        )
        occurred = run.at(x)
        logged = occurred + timedelta(minutes=rng.randint(5, 480))
        run.add(
            at,
            {
                "id": aid,
                "kind": kind,
                "occurred_at": occurred,
                "summary": summary,
                "outcome": rng.choice(N.OUTCOMES) if rng.random() < 0.6 else None,
                "created_by_id": creator,
                "department_id": dept,
                "created_at": logged,
                "updated_at": logged,
                "version": 1,
            },
        )
        for fid in ids:
            b_firm.append((aid, fid))
        if plan is not None:
            b_proj.append((aid, plan.id))
        if firm.contacts and rng.random() < 0.4:
            b_contact.append((aid, rng.choice(firm.contacts)))
        for uid in sorted(officers):
            b_officer.append((aid, uid))
        run.full()
        if rng.random() < keep:
            sample.append((aid, x, firm, plan, creator))
        aid += 1

    n = 0
    for p in plans:
        if p.end_x is None:
            continue
        start = p.fixed[0][0]
        for x, kind in p.fixed:
            emit(x, kind, p.firm, p, p.owner, p.cluster, p.park)
        for _ in range(p.extra):
            emit(rng.uniform(start, p.end_x), None, p.firm, p, p.owner, p.cluster, p.park)
        n += len(p.fixed) + p.extra
    for _ in range(run.scale.activities - n):  # contacts not (yet) about a project
        firm = _pick_cw(rng, firms, cw)
        owner = (
            firm.owner_id
            if firm.owner_id in staff.dept_of and rng.random() < 0.7
            else rng.choice(staff.officers)
        )
        x = rng.uniform(max(firm.created_x, -1800), -0.01)
        emit(x, None, firm, None, owner, firm.clusters[0] if firm.clusters else None, None)
    run.flush()
    return sample


def _followups(
    run: Run,
    staff: _Staff,
    firms: list[FirmInfo],
    plans: list[_Plan],
    sample: list[tuple[int, float, FirmInfo, _Plan | None, int]],
) -> None:
    rng, t = run.rng, Followup.__table__
    active = [p for p in plans if p.stage != "lost"] or plans
    fid = run.next_id(t)
    total = run.scale.followups
    rng.shuffle(sample)
    from_acts = sample[: int(total * 0.3)]
    for i in range(total):
        activity = None
        if i < len(from_acts):
            activity, x_act, firm, plan, assignee = from_acts[i]
            created = min(x_act + 0.05, -0.001)
            due = x_act + rng.uniform(2, 30)
            status = (
                "open"
                if due >= 0 or (due > -45 and rng.random() < 0.4)
                else "cancelled"
                if rng.random() < 0.06
                else "done"
            )
        else:
            status = _pick_cw(rng, ("open", "done", "cancelled"), _cum((18, 77, 5)))
            if rng.random() < 0.6:
                plan = rng.choice(active if status == "open" else plans)
                firm, lo = plan.firm, plan.path[0][1]
                hi = plan.path[-1][1] if plan.stage == "lost" else -1.0
                assignee = (
                    plan.owner if rng.random() < 0.85 else rng.choice(staff.by_dept[plan.dept])
                )
            else:
                plan, firm = None, rng.choice(firms)
                lo, hi = max(firm.created_x, -1500), -1.0
                assignee = (
                    firm.owner_id if firm.owner_id in staff.dept_of else rng.choice(staff.officers)
                )
            if status == "open":
                r = rng.random()
                due = (
                    -rng.uniform(0.05, 45)
                    if r < 0.3
                    else rng.uniform(0, 0.999)
                    if r < 0.4
                    else rng.uniform(1, 90)
                )
                due = max(due, lo + 0.5)
                created = max(min(due - rng.uniform(1, 30), -0.02), lo)
            else:
                due = rng.uniform(max(lo + 1, -1500), max(hi, lo + 1.5))
                created = rng.uniform(max(lo, due - 30), due)
        due_at = run.at(due)
        created_at = run.at(created)
        completed_at = None
        remind = None
        if status == "done":
            done_x = min(max(created + 0.01, due + rng.uniform(-5, 3)), -0.001)
            completed_at = run.at(max(done_x, created))
            if rng.random() < 0.3:
                remind = run.at(due - 1)
        elif status == "open" and due >= 0 and rng.random() < 0.5:
            remind = run.at(due - 1) if due >= 1 else due_at - timedelta(hours=1)
            if remind < run.now:
                remind = None
        by = (
            assignee
            if rng.random() < 0.85
            else staff.managers.get(staff.dept_of[assignee], assignee)
        )
        run.add(
            t,
            {
                "id": fid,
                "title": rng.choice(N.FOLLOWUP_TITLES).format(firm=firm.short)[:200],
                "notes": rng.choice(N.TOPICS) + "相关事宜" if rng.random() < 0.2 else None,
                "due_at": due_at,
                "remind_at": remind,
                "assignee_id": assignee,
                "firm_id": firm.id,
                "project_id": plan.id if plan is not None else None,
                "activity_id": activity,
                "status": status,
                "created_by_id": by,
                "completed_at": completed_at,
                "created_at": created_at,
                "updated_at": completed_at or created_at,
                "version": 1,
            },
        )
        fid += 1
    run.flush()
