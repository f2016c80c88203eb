"""Output shapes for the policy pack's clusters and parks, and the one change admins make."""

from __future__ import annotations

from pydantic import BaseModel

from crm.schemas import Amount, Id, InputModel


class ChainLinkPublic(BaseModel):
    code: str
    name_zh: str
    name_en: str


class ClusterPublic(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    kind: str
    target_2015: Amount
    lead_department_id: int | None
    description: str | None
    chain_links: list[ChainLinkPublic]
    version: int


class ClusterUpdate(InputModel):
    lead_department_id: Id | None
    version: Id


class ParkPublic(BaseModel):
    id: int
    code: str
    name_zh: str
    name_en: str
    tier: str
    within: str | None
    clusters: list[str]
