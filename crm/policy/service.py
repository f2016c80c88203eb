"""Load a policy pack into the database: idempotent, all or nothing, matched by code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from threading import Lock
from typing import Any, TypeVar

from sqlalchemy import Row, delete, select
from sqlmodel import Session, SQLModel

from crm.audit.service import record
from crm.db import bind_url, cache_version, memo
from crm.models.accounts import Department
from crm.models.firms import Firm, FirmAlias, FirmCluster, derive_tier
from crm.models.policy import ChainLink, Cluster, Park, ParkCluster, PlanTarget, PolicyPack
from crm.policy import names
from crm.policy.pack import Pack
from crm.text import normalize_name, search_blob, to_pinyin
from crm.types import stored_id, utcnow


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def bump(self, kind: str, what: str) -> None:
        target = self.created if what == "created" else self.updated
        target[kind] = target.get(kind, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


_Row = TypeVar("_Row", bound=SQLModel)


def _sync(obj: object, values: Mapping[str, Any]) -> bool:
    """Set changed attributes; True when something differed."""
    changed = False
    for k, v in values.items():
        if getattr(obj, k) != v:
            setattr(obj, k, v)
            changed = True
    return changed


def _values(spec: Any, place: int, *fields: str) -> dict[str, Any]:
    """A pack entry's stored fields and its place in the pack (``sort_order``)."""
    return {**{f: getattr(spec, f) for f in fields}, "sort_order": place}


def load_pack(session: Session, pack: Pack, actor_id: int | None = None) -> LoadReport:
    """Create or update everything in ``pack``. The caller's transaction makes it atomic."""
    load = _PackLoad(session, pack)
    load.meta()
    load.targets()
    clusters = load.clusters()
    session.flush()
    load.chain_links(clusters)
    parks = load.parks()
    session.flush()
    load.link_parks(parks, clusters)
    firms = load.firms(clusters)
    session.flush()
    load.parent_firms(firms)
    session.flush()
    rep = load.rep
    if rep.changed:
        record(
            session,
            actor_id,
            "load_pack",
            "policy_pack",
            pack.pack.code,
            after={"created": rep.created, "updated": rep.updated, "version": pack.pack.version},
        )
    names.forget()  # pages read the plan's names afresh
    return rep


@dataclass
class _PackLoad:
    """One pack load under way: the session, the pack and the report of what it created and
    updated, shared by its steps."""

    session: Session
    pack: Pack
    rep: LoadReport = field(default_factory=LoadReport)

    def put(
        self,
        kind: str,
        row: _Row | None,
        model: type[_Row],
        values: dict[str, Any],
        **keys: Any,
    ) -> _Row:
        """The pack's row: a new ``model(**keys, **values)`` when there is none, else ``row``
        brought to ``values``; the report counts which (nothing when nothing differed)."""
        if row is None:
            row = model(**keys, **values)
            self.session.add(row)
            self.rep.bump(kind, "created")
        elif _sync(row, values):
            self.rep.bump(kind, "updated")
        return row

    def meta(self) -> None:
        """The pack's own row: its title, version and checksum."""
        meta = self.session.scalar(select(PolicyPack).where(PolicyPack.code == self.pack.pack.code))
        if meta is None:
            self.session.add(
                PolicyPack(
                    code=self.pack.pack.code,
                    title=self.pack.pack.title,
                    version=self.pack.pack.version,
                    checksum=self.pack.checksum,
                )
            )
            self.rep.bump("pack", "created")
        elif _sync(
            meta,
            {
                "title": self.pack.pack.title,
                "version": self.pack.pack.version,
                "checksum": self.pack.checksum,
            },
        ):
            meta.loaded_at = utcnow()
            self.rep.bump("pack", "updated")

    def targets(self) -> None:
        for t in self.pack.targets:
            row = self.session.scalar(select(PlanTarget).where(PlanTarget.code == t.code))
            self.put("targets", row, PlanTarget, t.model_dump())

    def clusters(self) -> dict[str, Cluster]:
        """The clusters by code (the pack's and any others already stored), in the pack's order;
        a lead department is set when one of that name exists."""
        depts = {d.name: d.id for d in self.session.scalars(select(Department))}
        clusters: dict[str, Cluster] = {c.code: c for c in self.session.scalars(select(Cluster))}
        for i, c in enumerate(self.pack.clusters):
            vals = _values(c, i, "name_zh", "name_en", "kind", "target_2015", "description")
            if c.lead_department and c.lead_department in depts:
                vals["lead_department_id"] = depts[c.lead_department]
            clusters[c.code] = self.put(
                "clusters", clusters.get(c.code), Cluster, vals, code=c.code
            )
        return clusters

    def chain_links(self, clusters: dict[str, Cluster]) -> None:
        for c in self.pack.clusters:
            cid = stored_id(clusters[c.code])
            existing = {
                x.code: x
                for x in self.session.scalars(select(ChainLink).where(ChainLink.cluster_id == cid))
            }
            for j, link in enumerate(c.links):
                vals = _values(link, j, "name_zh", "name_en")
                self.put(
                    "chain_links",
                    existing.get(link.code),
                    ChainLink,
                    vals,
                    cluster_id=cid,
                    code=link.code,
                )

    def parks(self) -> dict[str, Park]:
        parks: dict[str, Park] = {p.code: p for p in self.session.scalars(select(Park))}
        for i, p in enumerate(self.pack.parks):
            vals = _values(p, i, "name_zh", "name_en", "tier", "district")
            parks[p.code] = self.put("parks", parks.get(p.code), Park, vals, code=p.code)
        return parks

    def link_parks(self, parks: dict[str, Park], clusters: dict[str, Cluster]) -> None:
        """Each park's enclosing park and the clusters it is guided towards."""
        for p in self.pack.parks:
            row = parks[p.code]
            park_id = stored_id(row)
            within = stored_id(parks[p.within]) if p.within else None
            if row.within_park_id != within:
                row.within_park_id = within
                self.rep.bump("parks", "updated")
            want = {stored_id(clusters[c]) for c in p.clusters}
            have = set(
                self.session.scalars(
                    select(ParkCluster.cluster_id).where(ParkCluster.park_id == park_id)
                )
            )
            if want != have:
                if have - want:
                    self.session.execute(
                        delete(ParkCluster).where(
                            ParkCluster.park_id == park_id, ParkCluster.cluster_id.in_(have - want)
                        )
                    )
                for cid in want - have:
                    self.session.add(ParkCluster(park_id=park_id, cluster_id=cid))
                self.rep.bump("park_clusters", "updated")

    def firms(self, clusters: dict[str, Cluster]) -> dict[str, Firm]:
        """The pack's firms by their key in the pack, each with its aliases and clusters (added,
        never removed)."""
        firms_by_key: dict[str, Firm] = {}
        for f in self.pack.firms:
            norm = normalize_name(f.name_zh)
            row = self.session.scalar(select(Firm).where(Firm.name_norm == norm))
            aliases = list(dict.fromkeys(f.aliases))
            py, ini = to_pinyin(f.name_zh)
            vals: dict[str, Any] = {
                "name_zh": f.name_zh,
                "name_en": f.name_en,
                "country": f.country,
                "global500_rank": f.global500_rank,
                "china500_rank": f.china500_rank,
                "is_leader": f.leader,
                "tier": derive_tier(f.global500_rank, f.china500_rank, f.leader),
                "name_pinyin": py,
                "name_initials": ini,
                "search_text": search_blob([f.name_zh, f.name_en, *aliases]),
            }
            if row is None:
                row = Firm(name_norm=norm, source="pack", **vals)
                self.session.add(row)
                self.session.flush()
                self.rep.bump("firms", "created")
            elif _sync(row, vals):
                row.updated_at = utcnow()
                row.version += 1
                self.rep.bump("firms", "updated")
            firms_by_key[f.key] = row
            firm_id = stored_id(row)
            self.firm_aliases(firm_id, aliases)
            have_c = set(
                self.session.scalars(
                    select(FirmCluster.cluster_id).where(FirmCluster.firm_id == firm_id)
                )
            )
            for code in f.clusters:
                cluster_id = stored_id(clusters[code])
                if cluster_id not in have_c:
                    self.session.add(FirmCluster(firm_id=firm_id, cluster_id=cluster_id))
                    self.rep.bump("firm_clusters", "created")
        return firms_by_key

    def firm_aliases(self, firm_id: int, aliases: list[str]) -> None:
        have_alias = {
            a.alias_norm: a
            for a in self.session.scalars(select(FirmAlias).where(FirmAlias.firm_id == firm_id))
        }
        for a in aliases:
            n = normalize_name(a)
            if n and n not in have_alias:
                have_alias[n] = FirmAlias(firm_id=firm_id, alias=a, alias_norm=n)
                self.session.add(have_alias[n])
                self.rep.bump("aliases", "created")

    def parent_firms(self, firms_by_key: dict[str, Firm]) -> None:
        """A pack firm's parent as the pack says; a firm the pack made loses a parent it no longer
        names (a firm made elsewhere keeps its own)."""
        for f in self.pack.firms:
            parent = stored_id(firms_by_key[f.parent]) if f.parent else None
            row = firms_by_key[f.key]
            if row.parent_id != parent and (f.parent or row.source == "pack"):
                row.parent_id = parent
                self.rep.bump("firms", "updated")


def list_clusters(session: Session) -> list[Cluster]:
    return list(session.scalars(select(Cluster).order_by(Cluster.sort_order)))


def list_parks(session: Session) -> list[Park]:
    return list(session.scalars(select(Park).order_by(Park.sort_order)))


def cluster_by_code(session: Session, code: str) -> Cluster | None:
    return session.scalar(select(Cluster).where(Cluster.code == code))


def chain_links(session: Session, cluster_id: int | None = None) -> list[ChainLink]:
    stmt = select(ChainLink).order_by(ChainLink.cluster_id, ChainLink.sort_order)
    if cluster_id is not None:
        stmt = stmt.where(ChainLink.cluster_id == cluster_id)
    return list(session.scalars(stmt))


# --- the plan's lists for pages (pickers, filters, names), kept until they change -----------------


@dataclass(frozen=True)
class PlanLists:
    """Clusters, parks, chain links and departments as read-only rows (the columns of the table,
    by attribute), in the order pages show them. Shared by every request of the process: never
    ORM objects, so nothing can change them or attach them to a session."""

    clusters: tuple[Row[Any], ...]
    parks: tuple[Row[Any], ...]
    links: tuple[Row[Any], ...]
    departments: tuple[Row[Any], ...]

    @cached_property
    def names(self) -> dict[str, Any]:
        """The names pages show beside codes, built once per version of the plan: code →
        (name_zh, name_en) of the clusters (``cluster``) and parks (``park``), each cluster's
        chain links by cluster id (``link``), id → name of the departments (``department``)."""
        links: dict[int, dict[str, tuple[str, str]]] = {}
        for lk in self.links:
            links.setdefault(lk.cluster_id, {})[lk.code] = (lk.name_zh, lk.name_en)
        return {
            "cluster": {c.code: (c.name_zh, c.name_en) for c in self.clusters},
            "park": {k.code: (k.name_zh, k.name_en) for k in self.parks},
            "link": links,
            "department": {d.id: d.name for d in self.departments},
        }

    @cached_property
    def codes(self) -> dict[str, dict[int, str]]:
        """id → code of the clusters, parks and chain links (``cluster``, ``park``, ``link``)."""
        return {
            "cluster": {c.id: c.code for c in self.clusters},
            "park": {k.id: k.code for k in self.parks},
            "link": {lk.id: lk.code for lk in self.links},
        }


_PLAN: dict[Any, PlanLists] = {}
_PLAN_LOCK = Lock()


def plan_lists(session: Session) -> PlanLists:
    """The plan's lists as pages show them, read once per process and kept until the plan's
    version changes (``crm.db.cache_version``: a trigger gives it a new value with any change
    of the pack, clusters, parks, chain links or departments, in any process; the request
    read it with its session)."""
    return memo(session, "plan_lists", lambda: _plan_lists(session))


def _plan_lists(session: Session) -> PlanLists:
    key = (bind_url(session), cache_version(session, "plan"))
    found = _PLAN.get(key)
    if found is not None:
        return found
    c, k, lk = Cluster.__table__.c, Park.__table__.c, ChainLink.__table__.c
    d = Department.__table__.c
    lists = PlanLists(
        clusters=tuple(session.execute(select(*c).order_by(c.sort_order)).all()),
        parks=tuple(session.execute(select(*k).order_by(k.sort_order)).all()),
        links=tuple(session.execute(select(*lk).order_by(lk.cluster_id, lk.sort_order)).all()),
        departments=tuple(
            session.execute(select(d.id, d.name, d.code, d.version).order_by(d.code)).all()
        ),
    )
    with _PLAN_LOCK:
        _PLAN.clear()  # only the current version is worth keeping
        _PLAN[key] = lists
    return lists


def park_guidance(session: Session) -> list[tuple[int, int]]:
    return [(p, c) for p, c in session.execute(select(ParkCluster.park_id, ParkCluster.cluster_id))]


def plan_targets(session: Session) -> dict[str, PlanTarget]:
    return {t.code: t for t in session.scalars(select(PlanTarget))}
