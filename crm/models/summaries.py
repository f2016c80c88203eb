"""How far each rollup is filled, and in which zone (Zulip's ``FillState``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow


class SummaryFillState(SQLModel, table=True):
    """One row per rollup table: every local week (Monday to Sunday in ``zone``) before
    ``end_week`` is in the table; later weeks — always the open one — are counted live.

    ``end_week`` None: nothing filled yet. A rollup whose ``zone`` differs from the configured
    one is not read at all, and the next fill rebuilds it.
    """

    __tablename__ = "summary_fill_state"

    property: str = Field(primary_key=True, max_length=40)
    end_week: date | None = None
    zone: str = Field(max_length=64)
    last_modified: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReportStamp(SQLModel, table=True):
    """One row (id 1) whose ``stamp`` changes in every transaction that changes what the kept
    reports read (``crm.reports.kept``): triggers on the projects, the firms' names, tiers and
    groups, and the policy's clusters, links, parks and guided pairs (migration 0025) write it
    — whatever code or SQL makes the change. No row: nothing is kept."""

    __tablename__ = "report_stamp"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    stamp: int = Field(sa_type=BigInteger)
