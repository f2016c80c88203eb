"""Input and output shapes for follow-ups."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, model_validator

from crm.schemas import Id, InputModel, Text, When


class FollowupCreate(InputModel):
    title: Text(200, 1)
    notes: Text(2000) | None = None
    due_at: When
    remind_at: When | None = None
    assignee_id: Id | None = None
    firm_id: Id | None = None
    project_id: Id | None = None

    @model_validator(mode="after")
    def _times(self):  # type: ignore[no-untyped-def]
        for name in ("due_at", "remind_at"):
            v = getattr(self, name)
            if v is not None and not (1990 <= v.year <= 2100):
                raise ValueError(f"{name} out of range (1990–2100) / 时间超出范围")
        return self


class FollowupUpdate(InputModel):
    title: Text(200, 1) | None = None
    notes: Text(2000) | None = None
    due_at: When | None = None
    remind_at: When | None = None
    assignee_id: Id | None = None
    version: Id

    @model_validator(mode="after")
    def _times(self):  # type: ignore[no-untyped-def]
        for name in ("due_at", "remind_at"):
            v = getattr(self, name)
            if v is not None and not (1990 <= v.year <= 2100):
                raise ValueError(f"{name} out of range (1990–2100) / 时间超出范围")
        return self


class FollowupPublic(BaseModel):
    id: int
    title: str
    notes: str | None
    due_at: datetime
    remind_at: datetime | None
    assignee_id: int
    firm_id: int | None
    project_id: int | None
    activity_id: int | None
    status: str
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
