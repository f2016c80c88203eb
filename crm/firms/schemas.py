"""Input and output shapes for firms and contacts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from crm.i18n import _l
from crm.schemas import Bounded, Email, Flag, Id, InputModel, LongText, Name, Rank
from crm.text import company_form_only, valid_credit_code

# digits, spaces, + ( ) - . / and an extension word (转, 分机, ext, x)
_PHONE = re.compile(r"\+?[\d\s().\-/]+((转|分机|ext\.?|x)\s*\d+)?", re.IGNORECASE)

_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):(?!\d)", re.I)  # "host:8080" is a port, not a scheme
_HOST = re.compile(r"^(?=.{1,253}$)([\w-]{1,63}\.)+[^\W\d_][\w-]{0,62}$")


def web_address(value: str | None) -> str | None:
    """A firm's website as a link to follow: http(s) only (no "javascript:"), a real host name;
    "www.hp.com" becomes "https://www.hp.com"."""
    v = (value or "").strip()
    if not v:
        return None
    scheme = _SCHEME.match(v)
    if scheme and scheme.group(1).lower() not in ("http", "https"):
        raise ValueError(_l("网址须以 http:// 或 https:// 开头"))
    if not scheme:
        v = "https://" + v
    try:
        parts = urlsplit(v)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or not _HOST.match(parts.hostname or "") or re.search(r"\s", v):
        raise ValueError(_l("网址无效"))
    return v


def website_ok(value: str | None) -> bool:
    """Whether a stored website is one the check accepts as it is (a link to follow)."""
    try:
        return bool(value) and web_address(value) == value
    except ValueError:
        return False


class FirmCreate(InputModel):
    name_zh: Name
    name_en: Annotated[str, Bounded(300)] | None = None
    aliases: list[Annotated[str, Bounded(200, 1)]] = Field(default_factory=list, max_length=30)
    country: Annotated[str, Bounded(60)] | None = None
    headquarters: Annotated[str, Bounded(200)] | None = None
    global500_rank: Rank | None = None
    china500_rank: Rank | None = None
    is_leader: Flag = False
    website: Annotated[str, Bounded(300)] | None = None
    credit_code: Annotated[str, Bounded(18)] | None = None
    parent_id: Id | None = None
    owner_id: Id | None = None
    clusters: list[Annotated[str, Bounded(20, 1)]] = Field(
        default_factory=list, max_length=12, description="cluster codes, e.g. NB, IC"
    )
    notes: LongText | None = None

    @field_validator("name_zh")
    @classmethod
    def _a_name(cls, v: str | None) -> str | None:
        if v and company_form_only(v):
            raise ValueError(_l("请填写企业名称，不能只有“有限公司”这类公司形式"))
        return v

    @field_validator("credit_code")
    @classmethod
    def _credit(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        v = v.upper()
        if not valid_credit_code(v):
            raise ValueError(_l("统一社会信用代码无效（18位，含校验位）"))
        return v

    @field_validator("website")
    @classmethod
    def _site(cls, v: str | None) -> str | None:
        return web_address(v)


class FirmUpdate(FirmCreate):
    name_zh: Name | None = None  # type: ignore[assignment]
    aliases: list[Annotated[str, Bounded(200, 1)]] | None = Field(default=None, max_length=30)  # type: ignore[assignment]
    clusters: list[Annotated[str, Bounded(20, 1)]] | None = Field(default=None, max_length=12)  # type: ignore[assignment]
    is_leader: Flag | None = None  # type: ignore[assignment]
    version: Id


class FirmPublic(BaseModel):
    id: int
    name_zh: str
    name_en: str | None
    aliases: list[str]
    country: str | None
    headquarters: str | None
    global500_rank: int | None
    china500_rank: int | None
    is_leader: bool
    tier: str
    website: str | None
    credit_code: str | None
    parent_id: int | None
    owner_id: int | None
    clusters: list[str]
    notes: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class ContactCreate(InputModel):
    name: Annotated[str, Bounded(100, 1)]
    title: Annotated[str, Bounded(100)] | None = None
    phone: Annotated[str, Bounded(40)] | None = None
    email: Email = None
    wechat: Annotated[str, Bounded(100)] | None = None
    notes: Annotated[str, Bounded(2000)] | None = None

    @field_validator("email", mode="before")
    @classmethod
    def _blank(cls, v: object) -> object:
        return None if v == "" else v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        """A telephone number as people write one (+86 23 6388 0000, 023-63880000 转 8012,
        (023) 6388-0000 ext. 12): digits with the usual separators, at most 20 digits — "abc"
        or 40 digits is no number (ATTACK8 P3-7)."""
        if not v:
            return v
        digits = sum(c.isdigit() for c in v)
        if not _PHONE.fullmatch(v) or not 1 <= digits <= 20:
            raise ValueError(_l("不是有效的电话号码"))
        return v


class ContactUpdate(ContactCreate):
    name: Annotated[str, Bounded(100, 1)] | None = None  # type: ignore[assignment]
    version: Id


class ContactPublic(BaseModel):
    id: int
    firm_id: int
    name: str
    title: str | None
    phone: str | None
    email: str | None
    wechat: str | None
    notes: str | None
    version: int


class DuplicateCandidate(BaseModel):
    id: int
    name_zh: str
    name_en: str | None
    score: float
    reason: str
