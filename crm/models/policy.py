"""The policy pack's tables: clusters, chain links, parks, guidance and plan targets."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Numeric, UniqueConstraint
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, Versioned, Yi, utcnow


class PolicyPack(SQLModel, table=True):
    __tablename__ = "policy_pack"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    title: str = Field(max_length=300)
    version: str = Field(max_length=40)
    checksum: str = Field(max_length=64)
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Cluster(Versioned, SQLModel, table=True):
    __tablename__ = "cluster"
    __table_args__ = (CheckConstraint("kind in ('base','cluster')", name="ck_cluster_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, sa_column_kwargs={"unique": True})
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=200)
    kind: str = Field(max_length=10)
    target_2015: Decimal = Field(sa_column=Column(Yi, nullable=False))
    lead_department_id: int | None = Field(default=None, foreign_key="department.id")
    sort_order: int = Field(default=0)
    description: str | None = Field(default=None, max_length=2000)
    version: int = Field(default=1)


class ChainLink(SQLModel, table=True):
    __tablename__ = "chain_link"
    __table_args__ = (UniqueConstraint("cluster_id", "code", name="uq_chain_link_code"),)

    id: int | None = Field(default=None, primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", index=True)
    code: str = Field(max_length=40)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=200)
    sort_order: int = Field(default=0)


class Park(SQLModel, table=True):
    __tablename__ = "park"
    __table_args__ = (
        CheckConstraint("tier in ('core','ring','point','bonded')", name="ck_park_tier"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, sa_column_kwargs={"unique": True})
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=200)
    tier: str = Field(max_length=10)
    # a bonded zone lies within a core park; its output counts for that core
    within_park_id: int | None = Field(default=None, foreign_key="park.id")
    sort_order: int = Field(default=0)
    # the district (区县) it lies in, as named on the city map (the map places it there)
    district: str | None = Field(default=None, max_length=40)


class ParkCluster(SQLModel, table=True):
    """A cluster the policy guides to a park (section 四 of the seed)."""

    __tablename__ = "park_cluster"

    park_id: int = Field(foreign_key="park.id", primary_key=True)
    cluster_id: int = Field(foreign_key="cluster.id", primary_key=True, index=True)
    focus: str | None = Field(default=None, max_length=300)


class PlanTarget(SQLModel, table=True):
    __tablename__ = "plan_target"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    value: Decimal = Field(sa_column=Column(Numeric(18, 4), nullable=False))
    unit: str = Field(max_length=20)
    year: int | None = Field(default=None)
    label_zh: str = Field(max_length=200)
    label_en: str = Field(max_length=300)
