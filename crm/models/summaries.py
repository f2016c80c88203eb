"""How far each rollup is filled, and in which zone (Zulip's ``FillState``)."""

from __future__ import annotations

from datetime import date, datetime

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
