"""Column types and clock helpers shared by the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.orm import declared_attr
from sqlalchemy.types import TypeDecorator

WAN_PER_YI = Decimal(10000)
YI_QUANT = Decimal("0.0001")
MAX_YI = Decimal("100000000")  # 1e8 亿 — far beyond any real project


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def stored_id(row: _Stored) -> int:
    """A row's id once it is in the database (a table's ``id`` is ``None`` only before the
    first flush, so a ``None`` here is a bug in the caller, not bad input)."""
    if row.id is None:
        raise RuntimeError(f"{type(row).__name__} has no id yet: flush it first")
    return row.id


def _as_utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC ``datetime`` (SQLite's text, a driver's datetime)."""
    if value is None:
        return None
    v: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _aware_utc(value: Any) -> datetime | None:
    """A PostgreSQL ``timestamptz``: in a UTC session (``crm.db``) the driver's value is one
    already, kept as it is."""
    if value is not None and getattr(value, "tzinfo", None) is UTC:
        return value  # type: ignore[no-any-return]
    return _as_utc(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both SQLite (which stores naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return _as_utc(value)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """On SQLite one function per value instead of the driver type's parser wrapped in
        ``process_result_value`` (two calls): every page reads hundreds of these. The same
        parse — SQLAlchemy's SQLite ``DATETIME`` reads its text with ``fromisoformat`` too.
        On PostgreSQL a value already in UTC is kept as the driver made it."""
        if dialect.name == "postgresql":
            return _aware_utc
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            v: datetime = parse(value) if isinstance(value, str) else value
            return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

        return process


def to_wan(value: Decimal | int | str | float | None) -> int | None:
    """亿元 as an exact Decimal → integer 万元 (4 decimal places of 亿)."""
    if value is None:
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    return int((d * WAN_PER_YI).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_wan(value: int | Decimal | None) -> Decimal | None:
    """Integer 万元 (or a SQL sum of them) → 亿元 as an exact Decimal."""
    if value is None:
        return None
    return (Decimal(int(value)) / WAN_PER_YI).quantize(YI_QUANT)


class Yi(TypeDecorator[Decimal]):
    """An amount in 亿元 kept exactly: stored as integer 万元, read back as Decimal 亿元.

    Integer storage makes SUM exact on SQLite (which has no decimal type) and PostgreSQL alike.
    """

    impl = BigInteger
    cache_ok = True

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal  # what a row holds (the integer 万元 stay in the database)

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return to_wan(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return from_wan(value)


# ``__table_args__`` of a table whose ids the audit trail, a merge's undo, notices and links
# name: SQLite never hands a deleted row's id out again (AUTOINCREMENT; migration 0017).
# PostgreSQL's sequences never go back anyway.
IDS_NEVER_REUSED: dict[str, Any] = {"sqlite_autoincrement": True}


class Versioned:
    """A row changed under optimistic locking (its ``version`` column): every ORM UPDATE or
    DELETE of it says ``WHERE version = <the version this session read>``, so of two
    transactions that read the same version only the first saves; the second matches no row
    and SQLAlchemy raises ``StaleDataError`` (a 409 to the client), whatever the database's
    isolation — on PostgreSQL (READ COMMITTED) both would otherwise pass the version check
    in Python and both save. The services still set the new version themselves
    (``version_id_generator=False``)."""

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {
            "version_id_col": cls.__table__.c.version,  # type: ignore[attr-defined]
            "version_id_generator": False,
        }
