"""Projects: one firm's possible investment in one cluster, its stage history and delivery."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Index, text
from sqlmodel import Field, SQLModel

from crm.types import IDS_NEVER_REUSED, UTCDateTime, Versioned, Yi, utcnow
from crm.vocabulary import (
    ACTIVE_STAGES,
    LANDED_STAGES,
    PURSUING_STAGES,
    SECURED_STAGES,
    STAGE_ORDER,
    Stage,
    check,
    values,
)

__all__ = [
    "ACTIVE_STAGES",
    "LANDED_STAGES",
    "PURSUING_STAGES",
    "SECURED_STAGES",
    "STAGE_ORDER",
    "CapitalArrival",
    "Project",
    "Stage",
    "StageChange",
]

STAGE_CHECK = check("stage", values(Stage))


class Project(Versioned, SQLModel, table=True):
    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint(STAGE_CHECK, name="ck_project_stage"),
        CheckConstraint("planned_investment is null or planned_investment >= 0", name="ck_inv"),
        CheckConstraint("expected_output is null or expected_output >= 0", name="ck_output"),
        Index("ix_project_firm_cluster", "firm_id", "cluster_id"),
        Index("ix_project_cluster_stage", "cluster_id", "stage"),
        Index("ix_project_stage_updated", "stage", "updated_at", "id"),  # a board column in order
        Index("ix_project_park", "park_id"),
        Index("ix_project_owner", "owner_id", "updated_at"),
        Index("ix_project_department", "department_id"),
        Index("ix_project_updated", "updated_at"),
        Index("ix_project_last_activity", "last_activity_at"),
        # the leadership's pages (migration 0012): open conflicts (the few flagged projects), a
        # manager's home (the department's new and stale projects), the city map (per park)
        Index(
            "ix_project_conflict",
            "conflict_with_id",
            sqlite_where=text("conflict_with_id IS NOT NULL"),
            postgresql_where=text("conflict_with_id IS NOT NULL"),
        ),
        Index("ix_project_department_created", "department_id", "created_at"),
        Index(
            "ix_project_department_stale",
            "department_id",
            "stage",
            "last_activity_at",
            "created_at",
        ),
        Index(
            "ix_project_map",
            "park_id",
            "stage",
            "expected_output",
            "cluster_id",
            "department_id",
            "is_confidential",
        ),
        # the park layout's first projects of each park in its order (migration 0020: SQLite
        # takes no NULLS LAST in an index, where DESC puts NULL last anyway)
        Index(
            "ix_project_park_output",
            "park_id",
            "expected_output",  # DESC (NULLS LAST on PostgreSQL): see the migration
            "id",
            "stage",
            "cluster_id",
            "department_id",
            "is_confidential",
        ),
        # new projects per week; new leads with their owner and first contact (reports)
        Index(
            "ix_project_report_created",
            "created_at",
            "owner_id",
            "first_contact_at",
            "department_id",
            "is_confidential",
        ),
        # covering indexes for the reports (crm/reports): coverage, targets, leaders
        Index(
            "ix_project_report_firm",
            "firm_id",
            "stage",
            "cluster_id",
            "chain_link_id",
            "expected_output",
            "department_id",
            "park_id",
            "is_confidential",
            "code_name",
        ),
        Index("ix_project_report_link", "chain_link_id", "firm_id", "stage", "department_id"),
        Index("ix_project_report_cluster_park", "cluster_id", "park_id", "stage", "department_id"),
        Index(
            "ix_project_report_stage",
            "stage",
            "cluster_id",
            "park_id",
            "firm_id",
            "expected_output",
            "department_id",
        ),
        Index(
            "ix_project_report_pipeline",
            "stage",
            "cluster_id",
            "park_id",
            "department_id",
            "owner_id",
            "planned_investment",
            "expected_output",
            "is_confidential",
        ),
        # the pipeline's conversion: projects by the furthest stage reached, from the index alone
        Index(
            "ix_project_report_reached",
            "furthest_stage",
            "stage",
            "cluster_id",
            "park_id",
            "department_id",
            "is_confidential",
        ),
        Index(
            "ix_project_report_delivery",
            "stage",
            "cluster_id",
            "planned_investment",
            "expected_jobs",
            "actual_jobs",
            "expected_land_date",
            "actual_land_date",
            "expected_operate_date",
            "actual_operate_date",
            "department_id",
        ),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    firm_id: int = Field(foreign_key="firm.id")
    cluster_id: int = Field(foreign_key="cluster.id")
    park_id: int | None = Field(default=None, foreign_key="park.id")
    chain_link_id: int | None = Field(default=None, foreign_key="chain_link.id")
    stage: str = Field(default=Stage.lead.value, max_length=12)
    # the furthest active stage it has reached (its stage history's highest, kept with every move:
    # the pipeline's conversion reads it instead of every project's history); None: none yet
    furthest_stage: str | None = Field(default=None, max_length=12)
    lost_reason: str | None = Field(default=None, max_length=1000)
    planned_investment: Decimal | None = Field(default=None, sa_column=Column(Yi))
    expected_output: Decimal | None = Field(default=None, sa_column=Column(Yi))
    expected_jobs: int | None = Field(default=None)
    actual_jobs: int | None = Field(default=None)
    expected_sign_date: date | None = Field(default=None)
    actual_sign_date: date | None = Field(default=None)
    expected_land_date: date | None = Field(default=None)
    actual_land_date: date | None = Field(default=None)
    expected_operate_date: date | None = Field(default=None)
    actual_operate_date: date | None = Field(default=None)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id")
    department_id: int | None = Field(default=None, foreign_key="department.id")
    is_confidential: bool = Field(default=False)
    code_name: str | None = Field(default=None, max_length=100)
    # set when another department already pursues the same firm and cluster (撞单)
    conflict_with_id: int | None = Field(default=None, foreign_key="project.id")
    notes: str | None = Field(default=None, max_length=4000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    stage_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    first_contact_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_activity_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)


class StageChange(SQLModel, table=True):
    __tablename__ = "stage_change"
    __table_args__ = (
        Index("ix_stage_change_project", "project_id", "changed_at"),
        Index("ix_stage_change_at", "changed_at"),
        Index("ix_stage_change_project_to", "project_id", "to_stage", "changed_at"),
        # how a project was opened (its change from no stage): new leads in the reports
        Index("ix_stage_change_project_first", "project_id", "from_stage", "to_stage"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    from_stage: str | None = Field(default=None, max_length=12)
    to_stage: str = Field(max_length=12)
    reason: str | None = Field(default=None, max_length=1000)
    changed_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CapitalArrival(SQLModel, table=True):
    """到资: capital actually arrived for a signed project."""

    __tablename__ = "capital_arrival"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_capital_amount"),
        # capital arrived per project, read from the index alone (delivery)
        Index("ix_capital_arrival_project_amount", "project_id", "amount"),
        # capital arrived in a week (the briefing)
        Index("ix_capital_arrival_on", "arrived_on", "project_id", "amount"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    amount: Decimal = Field(sa_column=Column(Yi, nullable=False))
    arrived_on: date
    note: str | None = Field(default=None, max_length=500)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
