"""Firms (with aliases and cluster targets) and their contacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.types import IDS_NEVER_REUSED, UTCDateTime, Versioned, utcnow
from crm.vocabulary import MAJOR_TIERS as MAJOR_TIERS
from crm.vocabulary import Tier as Tier
from crm.vocabulary import check, values


def derive_tier(global500_rank: int | None, china500_rank: int | None, is_leader: bool) -> str:
    """SPEC §3: global500 > china500 > leader > other."""
    if global500_rank is not None:
        return Tier.global500.value
    if china500_rank is not None:
        return Tier.china500.value
    if is_leader:
        return Tier.leader.value
    return Tier.other.value


class Firm(Versioned, SQLModel, table=True):
    __tablename__ = "firm"
    __table_args__ = (
        CheckConstraint(check("tier", values(Tier)), name="ck_firm_tier"),
        Index("ix_firm_tier_updated", "tier", "updated_at"),  # the list, tier by tier
        Index("ix_firm_tier_name", "tier", "id", "name_zh"),  # coverage: the major investors
        Index("ix_firm_tier_name_order", "tier", "name_zh", "id"),  # … in their listed order
        Index("ix_firm_owner", "owner_id"),
        Index("ix_firm_parent", "parent_id"),
        Index("ix_firm_country", "country"),
        Index("ix_firm_pinyin", "name_pinyin"),
        Index("ix_firm_initials", "name_initials"),
        Index("ix_firm_updated", "updated_at"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    name_zh: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=300)
    name_norm: str = Field(max_length=300, sa_column_kwargs={"unique": True})
    name_pinyin: str = Field(default="", max_length=1000)
    name_initials: str = Field(default="", max_length=300)
    # every name, alias, pinyin and initials, lower-cased, for one LIKE / trigram search
    search_text: str = Field(default="", max_length=4000)
    country: str | None = Field(default=None, max_length=60)
    headquarters: str | None = Field(default=None, max_length=200)
    global500_rank: int | None = Field(default=None)
    china500_rank: int | None = Field(default=None)
    is_leader: bool = Field(default=False)
    tier: str = Field(default=Tier.other.value, max_length=10)
    website: str | None = Field(default=None, max_length=300)
    credit_code: str | None = Field(default=None, max_length=18, sa_column_kwargs={"unique": True})
    parent_id: int | None = Field(default=None, foreign_key="firm.id")
    owner_id: int | None = Field(default=None, foreign_key="user_account.id")
    notes: str | None = Field(default=None, max_length=4000)
    source: str = Field(default="manual", max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)


class FirmAlias(SQLModel, table=True):
    __tablename__ = "firm_alias"
    __table_args__ = (
        UniqueConstraint("firm_id", "alias_norm", name="uq_firm_alias"),
        Index("ix_firm_alias_norm", "alias_norm", unique=True),  # one firm per alias
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(foreign_key="firm.id", index=True)
    alias: str = Field(max_length=200)
    alias_norm: str = Field(max_length=300)


class FirmCluster(SQLModel, table=True):
    """A cluster the firm is a target for."""

    __tablename__ = "firm_cluster"

    firm_id: int = Field(foreign_key="firm.id", primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True, index=True)


class Contact(Versioned, SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (Index("ix_contact_firm", "firm_id"), IDS_NEVER_REUSED)

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(foreign_key="firm.id")
    name: str = Field(max_length=100)
    title: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    wechat: str | None = Field(default=None, max_length=100)
    notes: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)
