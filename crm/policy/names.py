"""What a person reads for the plan's codes: cluster, park and chain-link names in the reader's
language (``crm.i18n.current_language``); the codes stay in the API and as tooltips.

The plan's tables are small and change only when a policy pack is loaded: their names are read
once and kept for a few minutes (``forget`` after a load, in this process; other processes see
a new pack within ``TTL``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from threading import Lock

from sqlalchemy import select
from sqlmodel import Session

from crm.db import get_engine
from crm.i18n import current_language
from crm.models.policy import ChainLink, Cluster, Park

TTL = 300.0


@dataclass(frozen=True)
class Names:
    clusters: dict[str, tuple[str, str]] = field(default_factory=dict)  # code → (zh, en)
    parks: dict[str, tuple[str, str]] = field(default_factory=dict)
    links: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (cluster, link)


_lock = Lock()
_cached: tuple[float, Names] | None = None


def load(session: Session) -> Names:

    clusters = {
        c: (zh, en)
        for c, zh, en in session.execute(select(Cluster.code, Cluster.name_zh, Cluster.name_en))
    }
    parks = {
        c: (zh, en) for c, zh, en in session.execute(select(Park.code, Park.name_zh, Park.name_en))
    }
    links = {
        (cc, lc): (zh, en)
        for cc, lc, zh, en in session.execute(
            select(Cluster.code, ChainLink.code, ChainLink.name_zh, ChainLink.name_en).join(
                Cluster, Cluster.id == ChainLink.cluster_id
            )
        )
    }
    return Names(clusters, parks, links)


def names() -> Names:
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < TTL:
        return cached[1]
    with _lock:
        if _cached is None or now - _cached[0] >= TTL:
            with Session(get_engine()) as session:
                _cached = (now, load(session))
        return _cached[1]


def forget() -> None:
    """After a policy pack is loaded: read the names again."""
    global _cached
    _cached = None


def _pick(pair: tuple[str, str] | None, fallback: str, lang: str | None) -> str:
    if not pair:
        return fallback
    zh, en = pair
    return (en or zh) if (lang or current_language()) == "en" else zh


def cluster(code: str | None, lang: str | None = None) -> str:
    if not code:
        return ""
    return _pick(names().clusters.get(code), code, lang)


def park(code: str | None, lang: str | None = None) -> str:
    if not code:
        return ""
    return _pick(names().parks.get(code), code, lang)


def chain_link(cluster_code: str | None, code: str | None, lang: str | None = None) -> str:
    if not code:
        return ""
    return _pick(names().links.get((cluster_code or "", code)), code, lang)
