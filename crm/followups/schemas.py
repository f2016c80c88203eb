"""Input and output shapes for follow-ups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel

from crm.schemas import Bounded, Id, InputModel, When


class FollowupCreate(InputModel):
    title: Annotated[str, Bounded(200, 1)]
    notes: Annotated[str, Bounded(2000)] | None = None
    due_at: When
    remind_at: When | None = None
    assignee_id: Id | None = None
    firm_id: Id | None = None
    project_id: Id | None = None


class FollowupUpdate(InputModel):
    title: Annotated[str, Bounded(200, 1)] | None = None
    notes: Annotated[str, Bounded(2000)] | None = None
    due_at: When | None = None
    remind_at: When | None = None
    assignee_id: Id | None = None
    version: Id


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
