"""Shared pieces of the JSON API: the error body, pages, bounded path and query parameters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header, Path, Query
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from crm.clock import as_utc
from crm.i18n import _l
from crm.schemas import MAX_ID, _no_nul, _year_range, parse_id

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class ErrorItem(BaseModel):
    field: str | None = None
    message: str


class Error(BaseModel):
    """Every 4xx answer: a code, a message a person can read, the field at fault."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "example": {
                "error": "validation_error",
                "message": "stage: Input should be 'lead', …",
                "field": "stage",
            }
        },
    )

    error: str = Field(description="machine-readable code, e.g. not_found, stale_version")
    message: str = Field(description="what went wrong, in Chinese and English")
    field: str | None = Field(default=None, description="the input field at fault")
    errors: list[ErrorItem] | None = Field(default=None, description="every invalid field")
    current: dict[str, Any] | None = Field(
        default=None, description="with stale_version (409): the record as it is now"
    )


def _err(description: str) -> dict[str, Any]:
    return {"model": Error, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _err("no valid bearer token"),
    403: _err("the record exists but this user may not do this"),
    404: _err("no such record, or not visible to this user (never told apart)"),
    409: _err(
        "a conflict: a stale `version` (the body carries `current`), a duplicate, or a "
        "state change that is not allowed"
    ),
    422: _err("invalid input: the message names the field; nothing was changed"),
}


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="matching records (counted up to 10,001)")
    limit: int
    offset: int


def row_as(model: type[M], row: Any) -> M:
    """A row a service read or wrote (an ORM object) as the API's ``model``."""
    return model.model_validate(row, from_attributes=True)


def rows_as(model: type[M], rows: Iterable[Any]) -> list[M]:
    """Rows a service read (ORM objects) as the API's ``model``."""
    return [row_as(model, r) for r in rows]


IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="record id")]


def query_id(value: object) -> object:
    """A query string's id, read as a path's is (``crm.schemas.parse_id``): "+1", " 1", "1.0",
    "01" or 2^31 are refused (422 naming the parameter), never read as another id."""
    if isinstance(value, str):
        n = parse_id(value)
        if n is None:
            raise ValueError(NOT_AN_ID)
        return n
    return value


NOT_AN_ID = _l("请输入有效的编号")
IdQuery = Annotated[int | None, BeforeValidator(query_id), Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=200, description="page size (at most 200)")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="records to skip")]
VersionQuery = Annotated[
    int,
    Query(
        ge=1,
        le=MAX_ID,
        description=(
            "required: the record's version as you last read it; missing → 422, a stale one "
            "gets 409 and nothing changes"
        ),
    ),
]


# an add's one-use key (crm.submissions): the same request sent again records nothing
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern="^[A-Za-z0-9_-]{16,64}$",
        description=(
            "optional: 16–64 letters, digits, - or _ chosen by the client for this add. The "
            "first request with it records; the same request again with the same key (yours "
            "only: same endpoint and path, same body once read, same `confirm`) records nothing "
            "and gets 409 `already_submitted`, with `location` naming the record the first one "
            "made. The key with another endpoint, record or body records nothing either and "
            "gets 422 `idempotency_key_reused`: send that request with a new key"
        ),
    ),
]


def _utc(v: datetime) -> datetime:
    return as_utc(v)


def QText(max_length: int = 100, description: str | None = None):
    """An optional bounded, NUL-free query string."""
    return Annotated[
        str | None,
        Query(max_length=max_length, description=description),
        AfterValidator(lambda v: None if v is None else _no_nul(v)),
    ]


# the list filters by the plan's codes (firms, projects)
ClusterCode = QText(20, "cluster code, e.g. NB")
ParkCode = QText(20, "park code, e.g. LJ")

QTime = Annotated[
    datetime | None,
    Query(description="ISO 8601; without an offset it is local time (Asia/Shanghai)"),
    AfterValidator(lambda v: None if v is None else _utc(_year_range(v))),
]
