"""Input and output shapes for projects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from crm.clock import today_local
from crm.i18n import _l
from crm.schemas import Amount, Bounded, Count, Day, Flag, Id, InputModel, LongText, Yi
from crm.vocabulary import ActiveStageName, StageName

ActiveStage = ActiveStageName
_STEPS = ["sign", "land", "operate"]
AnyStage = StageName


class _Dates(InputModel):
    expected_sign_date: date | None = None
    actual_sign_date: date | None = None
    expected_land_date: date | None = None
    actual_land_date: date | None = None
    expected_operate_date: date | None = None
    actual_operate_date: date | None = None

    @field_validator(
        "expected_sign_date",
        "actual_sign_date",
        "expected_land_date",
        "actual_land_date",
        "expected_operate_date",
        "actual_operate_date",
    )
    @classmethod
    def _in_order(cls, v: date | None, info: ValidationInfo) -> date | None:
        """In range, and sign ≤ land ≤ operate within the expected and the actual dates."""
        if v is None:
            return v
        if not (date(1990, 1, 1) <= v <= date(2100, 12, 31)):
            raise ValueError(_l("日期超出范围（1990–2100）"))
        kind, step, _ = info.field_name.split("_")  # type: ignore[union-attr]
        if kind == "actual" and v > today_local():  # what already happened has a past date
            raise ValueError(_l("实际日期不能晚于今天"))
        for prev in reversed(_STEPS[: _STEPS.index(step)]):
            before = info.data.get(f"{kind}_{prev}_date")
            if before is not None:
                if v < before:
                    raise ValueError(_l("日期顺序有误：签约、落地、投产须依次排列"))
                break
        return v


class ProjectCreate(_Dates):
    title: Annotated[str, Bounded(200, one_line=True)] | None = None
    firm_id: Id
    cluster: Annotated[str, Bounded(20, 1)] = Field(description="cluster code, e.g. NB")
    park: Annotated[str, Bounded(20)] | None = Field(default=None, description="park code, e.g. LJ")
    chain_link: Annotated[str, Bounded(40)] | None = Field(
        default=None, description="chain-link code in the cluster"
    )
    stage: ActiveStage = "lead"
    planned_investment: Yi | None = None
    expected_output: Yi | None = None
    expected_jobs: Count | None = None
    actual_jobs: Count | None = None
    owner_id: Id | None = None
    department_id: Id | None = None
    is_confidential: Flag = False
    code_name: Annotated[str, Bounded(100, one_line=True)] | None = None
    notes: LongText | None = None

    @field_validator("title")
    @classmethod
    def _blank_is_generated(cls, v: str | None) -> str | None:
        """A blank title is no title: the service names the project after its firm and cluster
        (and an import's update of a matching project then leaves its title alone)."""
        return v or None


class ProjectUpdate(_Dates):
    # a title may be left out (unchanged) but never emptied: "" and "   " are refused as required
    title: Annotated[str, Bounded(200, 1, one_line=True)] | None = None
    park: Annotated[str, Bounded(20)] | None = None
    chain_link: Annotated[str, Bounded(40)] | None = None
    planned_investment: Yi | None = None
    expected_output: Yi | None = None
    expected_jobs: Count | None = None
    actual_jobs: Count | None = None
    owner_id: Id | None = None
    is_confidential: Flag | None = None
    code_name: Annotated[str, Bounded(100, one_line=True)] | None = None
    notes: LongText | None = None
    version: Id


class StageMove(InputModel):
    stage: AnyStage
    reason: Annotated[str, Bounded(1000)] | None = None
    # a move back to an earlier active stage must say so (and give a reason, kept in the history)
    confirm_backward: Flag = False
    version: Id | None = None


class StageMoveRequest(StageMove):
    """A stage move a person asks for (API, pages): the version they read is required."""

    version: Id


class CapitalArrivalCreate(InputModel):
    amount: Yi = Field(gt=0)
    arrived_on: Day
    note: Annotated[str, Bounded(500)] | None = None

    @field_validator("arrived_on")
    @classmethod
    def _arrived(cls, v: date) -> date:
        if v > today_local():  # capital that arrived: not a date to come
            raise ValueError(_l("到资日期不能晚于今天"))
        return v


class ProjectPublic(BaseModel):
    id: int
    title: str
    firm_id: int
    firm_name: str | None = None
    cluster: str
    park: str | None
    chain_link: str | None
    stage: str
    lost_reason: str | None
    planned_investment: Amount | None
    expected_output: Amount | None
    expected_jobs: int | None
    actual_jobs: int | None
    expected_sign_date: date | None
    actual_sign_date: date | None
    expected_land_date: date | None
    actual_land_date: date | None
    expected_operate_date: date | None
    actual_operate_date: date | None
    owner_id: int | None
    department_id: int | None
    is_confidential: bool
    code_name: str | None
    conflict_with_id: int | None
    # flagged 撞单 (conflict_with_id stays empty when the other project is hidden from the reader)
    in_conflict: bool = False
    notes: str | None
    created_at: datetime
    updated_at: datetime
    first_contact_at: datetime | None
    last_activity_at: datetime | None
    version: int


class StageChangePublic(BaseModel):
    id: int
    from_stage: str | None
    to_stage: str
    reason: str | None
    changed_by_id: int | None
    changed_at: datetime


class CapitalArrivalPublic(BaseModel):
    id: int
    project_id: int
    amount: Amount
    arrived_on: date
    note: str | None
    created_by_id: int | None
    created_at: datetime
