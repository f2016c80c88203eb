"""Input and output shapes for projects."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from crm.schemas import Count, Id, InputModel, LongText, Text, Yi

ActiveStage = Literal["lead", "contacted", "negotiating", "signed", "landed", "operating"]
AnyStage = Literal["lead", "contacted", "negotiating", "signed", "landed", "operating", "lost"]


class _Dates(InputModel):
    expected_sign_date: date | None = None
    actual_sign_date: date | None = None
    expected_land_date: date | None = None
    actual_land_date: date | None = None
    expected_operate_date: date | None = None
    actual_operate_date: date | None = None

    @model_validator(mode="after")
    def _order(self):  # type: ignore[no-untyped-def]
        for kind in ("expected", "actual"):
            seq = [(n, getattr(self, f"{kind}_{n}_date")) for n in ("sign", "land", "operate")]
            known = [(n, d) for n, d in seq if d is not None]
            for (n1, d1), (n2, d2) in pairwise(known):
                if d2 < d1:
                    raise ValueError(f"{kind}_{n2}_date must not be before {kind}_{n1}_date "
                                     f"/ 日期顺序有误")
        for d in (self.expected_sign_date, self.actual_sign_date, self.expected_land_date,
                  self.actual_land_date, self.expected_operate_date, self.actual_operate_date):
            if d is not None and not (date(1990, 1, 1) <= d <= date(2100, 12, 31)):
                raise ValueError("date out of range (1990–2100) / 日期超出范围")
        return self


class ProjectCreate(_Dates):
    title: Text(200) | None = None
    firm_id: Id
    cluster: Text(20, 1) = Field(description="cluster code, e.g. NB")
    park: Text(20) | None = Field(default=None, description="park code, e.g. LJ")
    chain_link: Text(40) | None = Field(default=None, description="chain-link code in the cluster")
    stage: ActiveStage = "lead"
    planned_investment: Yi | None = None
    expected_output: Yi | None = None
    expected_jobs: Count | None = None
    actual_jobs: Count | None = None
    owner_id: Id | None = None
    department_id: Id | None = None
    is_confidential: bool = False
    code_name: Text(100) | None = None
    notes: LongText | None = None


class ProjectUpdate(_Dates):
    title: Text(200) | None = None
    park: Text(20) | None = None
    chain_link: Text(40) | None = None
    planned_investment: Yi | None = None
    expected_output: Yi | None = None
    expected_jobs: Count | None = None
    actual_jobs: Count | None = None
    owner_id: Id | None = None
    is_confidential: bool | None = None
    code_name: Text(100) | None = None
    notes: LongText | None = None
    version: Id


class StageMove(InputModel):
    stage: AnyStage
    reason: Text(1000) | None = None
    version: Id | None = None


class CapitalArrivalCreate(InputModel):
    amount: Yi = Field(gt=0)
    arrived_on: date
    note: Text(500) | None = None


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
    planned_investment: Decimal | None
    expected_output: Decimal | None
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
