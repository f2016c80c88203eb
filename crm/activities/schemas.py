"""Input and output shapes for activities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from crm.schemas import Bounded, Id, InputModel, When
from crm.vocabulary import ActivityKindName

Kind = ActivityKindName


class InlineFollowup(InputModel):
    title: Annotated[str, Bounded(200, 1)]
    due_at: When
    remind_at: When | None = None
    assignee_id: Id | None = None
    firm_id: Id | None = Field(
        default=None, description="the firm it concerns (one of the activity's firms)"
    )


class ActivityCreate(InputModel):
    kind: Kind
    occurred_at: When | None = Field(default=None, description="defaults to now")
    summary: Annotated[str, Bounded(4000, 1)]
    outcome: Annotated[str, Bounded(2000)] | None = None
    firm_ids: list[Id] = Field(min_length=1, max_length=100)
    project_ids: list[Id] = Field(default_factory=list, max_length=100)
    contact_ids: list[Id] = Field(default_factory=list, max_length=100)
    officer_ids: list[Id] = Field(default_factory=list, max_length=50)
    followup: InlineFollowup | None = None
    followups: list[InlineFollowup] = Field(
        default_factory=list, max_length=100, description="follow-ups, one per firm if wished"
    )


class ActivityUpdate(InputModel):
    kind: Kind | None = None
    occurred_at: When | None = None
    summary: Annotated[str, Bounded(4000, 1)] | None = None
    outcome: Annotated[str, Bounded(2000)] | None = None
    # given: the activity's firms, projects, contacts or colleagues become exactly these
    firm_ids: list[Id] | None = Field(default=None, min_length=1, max_length=100)
    project_ids: list[Id] | None = Field(default=None, max_length=100)
    contact_ids: list[Id] | None = Field(default=None, max_length=100)
    officer_ids: list[Id] | None = Field(default=None, max_length=50)
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
