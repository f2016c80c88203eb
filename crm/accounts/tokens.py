"""API tokens: issued at a login, stored as SHA-256, expiring, revocable."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlmodel import Session

from crm.audit.service import record
from crm.config import get_settings
from crm.db import AsLoaded, DriverSelect
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


# the token's state and its user's row in one statement on the driver's cursor, as a page's
# session is read (``crm.accounts.sessions``): the first statement of every API request, where
# the token and then its user through the ORM were two
_USER = AsLoaded(User)
_TOKEN_AND_USER = DriverSelect(
    select(ApiToken.revoked_at, ApiToken.expires_at, *_USER.columns)
    .join_from(ApiToken, User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_IS_ACTIVE = 2 + [c.name for c in _USER.columns].index("is_active")


def resolve_api_token(session: Session, token: str | None) -> User | None:
    """The active user of a live token (not revoked, not expired); None otherwise."""
    if not token or len(token) > 200:
        return None
    row = _TOKEN_AND_USER.first(session, {"token_hash": token_hash(token)})
    if row is None:
        return None
    revoked_at, expires_at = row[:2]
    if revoked_at is not None or expires_at <= utcnow() or not row[_IS_ACTIVE]:
        return None
    user: User = _USER.attach(session, row[2:])
    return user


def revoke_api_token(session: Session, actor: User, token: str) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(token)))
    if row is None or (row.user_id != actor.id and actor.role != Role.admin.value):
        raise NotFound(_l("令牌不存在"))
    row.revoked_at = utcnow()
    session.add(row)
    record(session, actor.id, "revoke_token", "api_token", row.id)
