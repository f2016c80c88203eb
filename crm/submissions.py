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

A key is bound to what it was first used for (ATTACK12 F2): ``claim`` keeps the digest of the
submission — its method, its path (the target's ids are in it) and its validated content
(``fingerprint``) — with the key. The key posted again with the same submission is
``AlreadySubmitted``; with another form, target or content it is ``KeyReused`` (422
``idempotency_key_reused``), nothing recorded, and the caller sends it again with a new key.
The content is what the form or body reads as once parsed and validated (a pydantic payload,
the query flags that change what is written), never its bytes: a double tap, a browser's or a
client's retry of the same fields digests alike whatever the CSRF token, the field order or the
JSON spacing. A key kept before migration 0028 has no digest and is answered as before.

Keys are per user: another user's key is not theirs to claim or answer with. Kept a week
(``forget_old``, from the quarter-hourly summaries job)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from crm.clock import as_utc
from crm.db import table
from crm.errors import Conflict, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.submissions import FormSubmission
from crm.types import utcnow

KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
KEEP = timedelta(days=7)
ALREADY = _l("已提交，未重复记录")
REUSED = _l(
    "这个一次性提交键（幂等键）已用于另一次提交（地址、对象或内容不同）：本次未记录。"
    "新的提交请使用新的键"
)
T = table(FormSubmission)


class AlreadySubmitted(Conflict, code="already_submitted"):
    """This user's key was used by an earlier post: nothing was recorded this time.
    ``outcome``: what the first post answered (a page of ours), when it said so."""

    def __init__(self, outcome: str | None) -> None:
        # the API's JSON names the record the first request made (``location``)
        super().__init__(ALREADY, **({"location": outcome} if outcome else {}))
        self.outcome = outcome


class KeyReused(ValidationFailed, code="idempotency_key_reused"):
    """This user's key was used by an earlier post for another submission (another form or
    endpoint, another target, other content): nothing was recorded this time, and the first
    post's record is no answer to this one — the caller sends it again with a new key."""

    def __init__(self) -> None:
        super().__init__(REUSED)


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


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it, one way for one meaning: an instant in UTC (09:00+08:00
    is 01:00Z, and 09:00 without an offset is local time, as the services read it:
    ``crm.clock.as_utc``), an amount without its trailing zeros (1.50 is 1.5)."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)  # a date, a time, a UUID


def fingerprint(method: str, path: str, content: Any) -> str:
    """What a submission is, as a digest (sha256 hex): its method, its path (with the ids of
    its target) and its validated ``content`` — JSON values, pydantic payloads, dates and
    amounts, each read for its meaning (``_plain``: keys in any order, an instant in any
    offset) — so that the same submission sent twice digests alike."""
    text = json.dumps(
        [method.upper(), path, content],
        default=_plain,
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def claim(
    session: Session,
    actor: User,
    key: str | None,
    *,
    method: str,
    path: str,
    content: Any,
    outcome: str | None = None,
) -> None:
    """Take ``actor``'s ``key`` for the record about to be written in this transaction (call it
    inside the write, before the service): one INSERT on the primary key, with the digest of
    the submission (``fingerprint`` of ``method``, ``path`` and the validated ``content``).
    Taken already by the same submission → ``AlreadySubmitted`` (with the first post's
    outcome); by another → ``KeyReused``; nothing written either way. ``key`` None: no key
    sent, nothing to do. ``outcome``: the page the answer sends the user to, when it is known
    before the record is (else ``settle`` it after)."""
    if key is None:
        return
    digest = fingerprint(method, path, content)
    stmt = (
        _insert(session)
        .values(user_id=actor.id, key=key, at=utcnow(), outcome=outcome, digest=digest)
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(T.c.user_id)  # a row: taken now (a driver's rowcount is not told apart)
    )
    if session.execute(stmt).first() is not None:
        return
    first = session.execute(
        select(T.c.outcome, T.c.digest).where(T.c.user_id == actor.id, T.c.key == key)
    ).first()
    if first is not None and first.digest is not None and first.digest != digest:
        raise KeyReused()
    raise AlreadySubmitted(first.outcome if first is not None else None)


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
