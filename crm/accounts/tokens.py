"""API tokens: issued at a login, stored as SHA-256, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import Session

from crm.audit.service import record
from crm.config import get_settings
from crm.errors import NotFound
from crm.i18n import _l
from crm.models.accounts import ApiToken, Role, User
from crm.types import utcnow


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User, name: str | None = None) -> tuple[str, ApiToken]:
    assert user.id is not None  # a stored user
    token = secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        token_hash=token_hash(token),
        name=name,
        expires_at=utcnow() + timedelta(hours=get_settings().api_token_hours),
    )
    session.add(row)
    session.flush()
    return token, row


def resolve_api_token(session: Session, token: str | None) -> User | None:
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user


def revoke_api_token(session: Session, actor: User, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or (row.user_id != actor.id and actor.role != Role.admin.value):
        raise NotFound(_l("令牌不存在"))
    row.revoked_at = utcnow()
    session.add(row)
    record(session, actor.id, "revoke_token", "api_token", row.id)
