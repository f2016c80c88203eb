"""What loading a policy pack would change, before it is applied: clusters, their chain links,
parks, targets and guidance (a cluster's description) added, changed or removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crm.authz import require_admin
from crm.models.accounts import User
from crm.models.policy import ChainLink, Cluster, Park, PlanTarget, PolicyPack
from crm.policy.pack import Pack


@dataclass
class Change:
    kind: str  # cluster | link | park | target
    code: str
    name: str
    what: str  # added | changed | missing (not in the new pack: loading keeps it)
    fields: list[str] = field(default_factory=list)  # the changed ones


@dataclass
class Preview:
    code: str
    version: str
    current_version: str | None
    changes: list[Change]

    def count(self, what: str) -> int:
        return sum(1 for c in self.changes if c.what == what)


def _diff(
    kind: str, old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]
) -> list[Change]:
    out: list[Change] = []
    for code, values in new.items():
        name = str(values.get("name_zh") or values.get("label_zh") or code)
        if code not in old:
            out.append(Change(kind, code, name, "added"))
            continue
        changed = [k for k, v in values.items() if _norm(old[code].get(k)) != _norm(v)]
        if changed:
            out.append(Change(kind, code, name, "changed", changed))
    for code, values in old.items():
        if code not in new:
            name = str(values.get("name_zh") or values.get("label_zh") or code)
            out.append(Change(kind, code, name, "missing"))  # load_pack keeps it
    return out


def _norm(v: Any) -> Any:
    if isinstance(v, Decimal | float | int) and not isinstance(v, bool):
        return Decimal(str(v)).normalize()
    return v or None


def preview_pack(session: Session, actor: User, pack: Pack) -> Preview:
    """Every difference between ``pack`` and what is loaded now; nothing is written."""
    require_admin(actor)
    current = session.scalar(select(PolicyPack).where(PolicyPack.code == pack.pack.code))
    clusters = {c.code: c for c in session.scalars(select(Cluster))}
    by_id = {c.id: c.code for c in clusters.values()}
    old_clusters = {
        c.code: {
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "kind": c.kind,
            "description": c.description,
        }
        for c in clusters.values()
    }
    new_clusters = {
        c.code: {
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "kind": c.kind,
            "description": c.description,
        }
        for c in pack.clusters
    }
    old_links = {
        f"{by_id.get(lk.cluster_id, '?')}/{lk.code}": {"name_zh": lk.name_zh, "name_en": lk.name_en}
        for lk in session.scalars(select(ChainLink))
    }
    new_links = {
        f"{c.code}/{lk.code}": {"name_zh": lk.name_zh, "name_en": lk.name_en}
        for c in pack.clusters
        for lk in c.links
    }
    old_parks = {
        p.code: {"name_zh": p.name_zh, "name_en": p.name_en, "tier": p.tier}
        for p in session.scalars(select(Park))
    }
    new_parks = {
        p.code: {"name_zh": p.name_zh, "name_en": p.name_en, "tier": p.tier} for p in pack.parks
    }
    target_fields = ("value", "unit", "year", "label_zh", "label_en")
    old_targets = {
        t.code: {k: getattr(t, k) for k in target_fields}
        for t in session.scalars(select(PlanTarget))
    }
    new_targets = {t.code: {k: getattr(t, k) for k in target_fields} for t in pack.targets}
    changes = [
        *_diff("cluster", old_clusters, new_clusters),
        *_diff("link", old_links, new_links),
        *_diff("park", old_parks, new_parks),
        *_diff("target", old_targets, new_targets),
    ]
    return Preview(
        code=pack.pack.code,
        version=pack.pack.version,
        current_version=current.version if current else None,
        changes=changes,
    )
