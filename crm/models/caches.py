"""The per-process caches' versions: one number per cache, set to a new random value by
database triggers whenever a row behind that cache changes (migration 0026), read by every
page request with its signed-in session (``crm.db.cache_version``)."""

from __future__ import annotations

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel


class CacheVersion(SQLModel, table=True):
    """``name``: countries, plan or users. Written only by the triggers."""

    __tablename__ = "cache_version"

    name: str = Field(primary_key=True, max_length=20)
    n: int = Field(sa_type=BigInteger)
