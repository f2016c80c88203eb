"""A create form submitted twice records once: its one-use key (an idempotency key).

A create form carries a key of its own, made when the form is shown (``new_key``; a form shown
again after a refusal keeps the key it came with — nothing was recorded). The post that records
claims the key in the same write transaction as what it records (``claim``: one INSERT on the
key's primary key, before the service writes anything): the two are committed together or not
at all. A second post with the key — a double tap, a browser's or a proxy's retry, a replayed
request, the retry after an answer that failed once the record was committed — finds it taken
and records nothing: ``AlreadySubmitted``, with what the first post answered (``outcome``: the
page it sent the user to) when the form said so. Under concurrency the second INSERT waits for
the first transaction (PostgreSQL: its unique index; SQLite: the one writer) and then finds the
key taken, or free again when the first was rolled back.

Keys are per user: another user's key is not theirs to claim or answer with. Kept a week
(``forget_old``, from the quarter-hourly summaries job)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from crm.db import table
from crm.errors import Conflict
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.submissions import FormSubmission
from crm.types import utcnow

KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEEP = timedelta(days=7)
ALREADY = _l("已提交，未重复记录")
T = table(FormSubmission)


class AlreadySubmitted(Conflict, code="already_submitted"):
    """This user's key was used by an earlier post: nothing was recorded this time.
    ``outcome``: what the first post answered (a page of ours), when it said so."""

    def __init__(self, outcome: str | None) -> None:
        # the API's JSON names the record the first request made (``location``)
        super().__init__(ALREADY, **({"location": outcome} if outcome else {}))
        self.outcome = outcome


def new_key() -> str:
    """A fresh key for a form being shown (nothing is written until a post claims it)."""
    return secrets.token_urlsafe(18)


def read_key(value: Any) -> str | None:
    """A key as a form or a header sent it, or None (none sent, or not one of ours: the post
    is then recorded as any post without a key)."""
    if isinstance(value, str):
        key: str = value.strip()
        if KEY.fullmatch(key):
            return key
    return None


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(T)
    return sqlite.insert(T)


def claim(session: Session, actor: User, key: str | None, outcome: str | None = None) -> None:
    """Take ``actor``'s ``key`` for the record about to be written in this transaction (call it
    inside the write, before the service): one INSERT on the primary key. Taken already →
    ``AlreadySubmitted`` (with the first post's outcome), nothing written. ``key`` None: no key
    sent, nothing to do. ``outcome``: the page the answer sends the user to, when it is known
    before the record is (else ``settle`` it after)."""
    if key is None:
        return
    stmt = (
        _insert(session)
        .values(user_id=actor.id, key=key, at=utcnow(), outcome=outcome)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(T.c.user_id)  # a row: taken now (a driver's rowcount is not told apart)
    )
    if session.execute(stmt).first() is not None:
        return
    raise AlreadySubmitted(
        session.scalar(select(T.c.outcome).where(T.c.user_id == actor.id, T.c.key == key))
    )


def settle(session: Session, actor: User, key: str | None, outcome: str) -> None:
    """What the post that claimed ``key`` answers, once the record it wrote is known (the new
    record's page): a second post with the key is sent there too."""
    if key is None:
        return
    session.execute(
        update(T).where(T.c.user_id == actor.id, T.c.key == key).values(outcome=outcome[:300])
    )


def forget_old(session: Session, now: datetime | None = None) -> int:
    """Keys older than ``KEEP`` deleted (a form posted again after a week records again);
    how many."""
    cutoff = (now or utcnow()) - KEEP
    done = session.execute(delete(T).where(T.c.at < cutoff))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]
