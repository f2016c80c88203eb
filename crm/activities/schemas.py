"""Input and output shapes for activities."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from crm.schemas import Id, InputModel, Text, When

Kind = Literal["visit", "call", "meeting", "email", "delegation", "site_visit", "signing", "other"]


class InlineFollowup(InputModel):
    title: Text(200, 1)
    due_at: When
    remind_at: When | None = None
    assignee_id: Id | None = None

    @model_validator(mode="after")
    def _times(self):  # type: ignore[no-untyped-def]
        for name in ("due_at", "remind_at"):
            v = getattr(self, name)
            if v is not None and not (1990 <= v.year <= 2100):
                raise ValueError(f"{name} out of range (1990–2100) / 时间超出范围")
        return self


class ActivityCreate(InputModel):
    kind: Kind
    occurred_at: datetime | None = Field(default=None, description="defaults to now")
    summary: Text(4000, 1)
    outcome: Text(2000) | None = None
    firm_ids: list[Id] = Field(min_length=1, max_length=100)
    project_ids: list[Id] = Field(default_factory=list, max_length=100)
    contact_ids: list[Id] = Field(default_factory=list, max_length=100)
    officer_ids: list[Id] = Field(default_factory=list, max_length=50)
    followup: InlineFollowup | None = None

    @model_validator(mode="after")
    def _when(self):  # type: ignore[no-untyped-def]
        if self.occurred_at is not None and not (1990 <= self.occurred_at.year <= 2100):
            raise ValueError("occurred_at out of range (1990–2100) / 时间超出范围")
        return self


class ActivityUpdate(InputModel):
    kind: Kind | None = None
    occurred_at: When | None = None
    summary: Text(4000, 1) | None = None
    outcome: Text(2000) | None = None
    version: Id


class ActivityPublic(BaseModel):
    id: int
    kind: str
    occurred_at: datetime
    summary: str
    outcome: str | None
    created_by_id: int | None
    department_id: int | None
    firm_ids: list[int]
    project_ids: list[int]
    contact_ids: list[int]
    officer_ids: list[int]
    created_at: datetime
    version: int
