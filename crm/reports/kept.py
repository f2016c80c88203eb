"""Reports kept between requests until what they read changes (#19: the coverage report was
built from 8,000 rows on every request, 70 ms of CPU at city scale).

``report_stamp`` (migration 0025) changes in every transaction that changes a project (but its
contact rollups), a firm's names, tier or group, or the policy's clusters, links, parks and
guided pairs — written by triggers, so no writer is missed. A report built while the stamp
read ``s`` is kept under ``s``, for the same filters and the same kind of viewer
(``viewer_key``), in this process. The stamp is read *before* the report is built: a change
committed in between gives a newer stamp, so the next request builds afresh; a kept report is
never older than its stamp. Not kept (built every time, as before): a database without the
stamp's row or triggers, and on PostgreSQL a transaction that has itself changed a watched
table but not yet committed (its stamp is only written at commit).

What the report shows is unchanged: a kept report is the one building it again would give, but
its ``generated_at``, which is the time of this answer.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import text
from sqlmodel import Session

from crm.authz.visibility import viewer_key
from crm.db import bind_url
from crm.models.accounts import User
from crm.types import utcnow

_R = TypeVar("_R", bound=BaseModel)

# the triggers migration 0025 installs: all there, or nothing is kept (a later migration that
# rebuilt a table without them must not leave reports kept forever)
WATCHED = ("project", "firm", "cluster", "chain_link", "park", "park_cluster")
_SQLITE_TRIGGERS = text(
    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'report_stamp_%'"
)
_PG_TRIGGERS = text(
    "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'report_stamp_%' AND NOT tgisinternal"
)
_SQLITE_EXPECTED = 3 * len(WATCHED) - 1  # insert, update and delete; a firm's insert is not
_PG_EXPECTED = 3 * len(WATCHED)  # rows added or removed, rows changed, a truncate

_SQLITE_STAMP = text("SELECT stamp FROM report_stamp WHERE id = 1")
_PG_STAMP = text(
    "SELECT stamp, coalesce(current_setting('crm.report_dirty', true), '') = 'on' "
    "FROM report_stamp WHERE id = 1"
)

LIMIT = 32  # answers kept per database (filters × kinds of viewer); the stamp's change empties it
_LOCK = threading.Lock()
_KEPT: dict[str, tuple[Any, dict[tuple[Any, ...], Any]]] = {}  # url → (stamp, key → report)
_ARMED: dict[str, bool] = {}  # url → the triggers are all there


def _armed(session: Session, url: str, pg: bool) -> bool:
    found = _ARMED.get(url)
    if found is None:
        n = session.execute(_PG_TRIGGERS if pg else _SQLITE_TRIGGERS).scalar_one()
        found = _ARMED[url] = n == (_PG_EXPECTED if pg else _SQLITE_EXPECTED)
    return found


def stamp(session: Session) -> Any | None:
    """The stamp the data is at, or None when no report may be kept now."""
    url = str(bind_url(session))
    pg = session.get_bind().dialect.name == "postgresql"
    if not _armed(session, url, pg):
        return None
    row = session.execute(_PG_STAMP if pg else _SQLITE_STAMP).first()
    if row is None or (pg and row[1]):
        return None
    return row[0]


def kept(
    session: Session, actor: User | None, name: str, given: Any, build: Callable[[], _R]
) -> _R:
    """Report ``name`` for ``actor`` given ``given`` (its filters, a dataclass, and whatever
    else it reads that the stamp does not follow, read afresh by the caller): the one kept
    since the stamp last changed, or ``build()`` (then kept)."""
    now = stamp(session)
    if now is None:
        return build()
    url = str(bind_url(session))
    if dataclasses.is_dataclass(given) and not isinstance(given, type):
        given = dataclasses.astuple(given)
    key = (name, viewer_key(actor), given)
    with _LOCK:
        slot = _KEPT.get(url)
        if slot is None or slot[0] != now:
            slot = _KEPT[url] = (now, {})
        found: _R | None = slot[1].get(key)
    if found is not None:
        return found.model_copy(update={"generated_at": utcnow()})
    report = build()
    with _LOCK:
        slot = _KEPT.get(url)
        if slot is not None and slot[0] == now and len(slot[1]) < LIMIT:
            slot[1][key] = report
    return report


def forget() -> None:
    """Drop every kept report and trigger check (tests that rebuild a database)."""
    with _LOCK:
        _KEPT.clear()
        _ARMED.clear()
