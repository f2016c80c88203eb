"""Input and output shapes for users and departments."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator

from crm.models.accounts import Role
from crm.schemas import Bounded, Email, Flag, Id, InputModel, _no_nul
from crm.vocabulary import literal, values

# the API's roles: the Role vocabulary's values (type checkers see str; see crm.vocabulary)
if TYPE_CHECKING:
    RoleName = str
else:
    RoleName = literal(values(Role))
Language = Literal["zh_CN", "en"]


class _Email(InputModel):
    @field_validator("email", mode="before", check_fields=False)
    @classmethod
    def _blank(cls, v: object) -> object:
        return None if v == "" else v


class UserCreate(_Email):
    username: Annotated[str, Bounded(60, 1)] = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    password: Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_no_nul)]
    role: RoleName = "officer"
    display_name: Annotated[str, Bounded(100)] | None = None
    email: Email = None
    department_id: Id | None = None
    language: Language = "zh_CN"


class UserUpdate(_Email):
    """What administrators change (crm.accounts.service.update_user); null leaves it as is."""

    display_name: Annotated[str, Bounded(100, 1)] | None = None
    email: Email = None
    role: RoleName | None = None
    department_id: Id | None = None
    is_active: Flag | None = None
    version: Id


class MeUpdate(_Email):
    display_name: Annotated[str, Bounded(100, 1)] | None = None
    email: Email = None
    language: Language | None = None
    version: Id


class UserPublic(BaseModel):
    id: int
    username: str
    display_name: str
    email: str | None
    role: str
    department_id: int | None
    is_active: bool
    language: str
    created_at: datetime
    last_login_at: datetime | None
    version: int


class DepartmentCreate(InputModel):
    name: Annotated[str, Bounded(100, 1)]
    code: Annotated[str, Bounded(40, 1)] = Field(pattern=r"^[A-Za-z0-9_\-]+$")


class DepartmentUpdate(InputModel):
    name: Annotated[str, Bounded(100, 1)] | None = None
    code: Annotated[str, Bounded(40, 1)] | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]+$")
    version: Id


class DepartmentWebhook(InputModel):
    """The department's group robot: ``"kind": null`` clears it (a body without ``kind`` is
    refused, never taken as "clear"); a URL or secret left out keeps the one already set
    (neither is ever shown back)."""

    kind: Literal["wecom", "dingtalk"] | None = Field(
        description="wecom (企业微信) or dingtalk (钉钉); null clears the robot (required)"
    )
    url: Annotated[str, Bounded(500)] | None = Field(
        default=None, description="the robot's webhook URL (http/https)"
    )
    secret: Annotated[str, Bounded(200)] | None = Field(
        default=None, description="DingTalk 加签 secret (optional)"
    )
    version: Id


class DepartmentPublic(BaseModel):
    """The webhook address and secret are never shown."""

    id: int
    name: str
    code: str
    webhook_kind: str | None
    has_webhook: bool = False
    created_at: datetime
    version: int
