"""Shared field types for input schemas: bounded, strict, NUL-free."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from annotated_types import GroupedMetadata
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from crm.i18n import _l

_SURROGATES = re.compile("[\ud800-\udfff]")


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError(_l("不能包含 NUL 字符"))
    if _SURROGATES.search(v):
        raise ValueError(_l("不是有效的 Unicode 文本"))
    return v


# control characters (C0 but tab, line feed and carriage return; DEL; C1) and the bidi
# embeddings, overrides and isolates, which turn a name around on screen ("\u202e" shows
# "exe.txt" for "txt.exe") or make it blank
_CONTROLS = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(c: str) -> bool:
    """Not a control, format (zero-width, bidi mark), unassigned/private or space character."""
    return unicodedata.category(c)[0] not in "CZ"


def _plain_text(v: str) -> str:
    """Text a person typed: no control or direction-override characters, and when anything is
    there, something one can see (a title of zero-width spaces shows as an empty link)."""
    if _CONTROLS.search(v):
        raise ValueError(_l("不能包含控制字符或文字方向控制符"))
    if v and not any(map(_visible, v)):
        raise ValueError(_l("不能只有不可见字符"))
    return v


def _one_line(v: str) -> str:
    """A title or a name is one line: a line break would start a heading, list or mention in
    a group-robot message, and break every list the text is shown in."""
    if "\n" in v or "\r" in v:
        raise ValueError(_l("不能换行"))
    return v


def _year_range(v: date | datetime) -> date | datetime:
    if not (1990 <= v.year <= 2100):
        raise ValueError(_l("时间超出范围（1990–2100）"))
    return v


def _at_most(max_length: int) -> Callable[[object], object]:
    def check(v: object) -> object:
        # the documented maxLength holds for the text as sent, before surrounding spaces go
        if isinstance(v, str) and len(v) > max_length:
            raise ValueError(_l("太长了（最多 %(n)s 个字符）", n=max_length))
        return v

    return check


@dataclass(frozen=True, slots=True)
class Bounded(GroupedMetadata):
    """A text field's rules, written ``Annotated[str, Bounded(300)]`` (type checkers see a
    ``str``): at most ``max_length`` characters as sent, at least ``min_length`` once trimmed,
    no NUL, control or direction-override character, and not only invisible ones (the one
    check of the API, the page forms and the imports, which all read these schemas). pydantic
    unpacks the group in place, as if its parts were written out."""

    max_length: int
    min_length: int = 0
    one_line: bool = False  # titles and names: no line break

    def __iter__(self) -> Iterator[object]:
        yield from StringConstraints(
            strip_whitespace=True, min_length=self.min_length, max_length=self.max_length
        )
        yield BeforeValidator(_at_most(self.max_length))
        yield AfterValidator(_no_nul)
        yield AfterValidator(_plain_text)
        if self.one_line:
            yield AfterValidator(_one_line)


Name = Annotated[str, Bounded(200, 1, one_line=True)]
ShortText = Annotated[str, Bounded(200)]
LongText = Annotated[str, Bounded(4000)]
# an optional email address; "" means none (forms send it). One type, not a union, so an
# error names the field plainly ("email")
Email = Annotated[
    EmailStr | None,
    BeforeValidator(lambda v: None if v == "" else v),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "format": "email"},
                {"type": "string", "maxLength": 0},
                {"type": "null"},
            ]
        }
    ),
]
# booleans from JSON only: no 0/1 or "yes"
Flag = Annotated[bool, Field(strict=True)]
# ids and versions are INTEGER columns: 32-bit on PostgreSQL
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]
_ID_DIGITS = re.compile(f"[0-9]{{1,{len(str(MAX_ID))}}}")


def _one_to(limit: int) -> str:
    """A regular expression for the decimals 1 … ``limit`` exactly as ``str(n)`` writes them:
    ASCII digits, no sign, no blanks, no leading zero."""
    top = str(limit)
    shorter = f"[1-9][0-9]{{0,{len(top) - 2}}}" if len(top) > 1 else None
    same = []
    for i, digit in enumerate(top):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(top) - i - 1
            tail = f"[0-9]{{{rest}}}" if rest else ""
            same.append(f"{top[:i]}[{low}-{int(digit) - 1}]{tail}")
    same.append(top)
    return "(?:" + "|".join(x for x in [shorter, *same] if x) + ")"


# a record id in a path or a query string: the one way every page and API route reads one
ID_PATTERN = _one_to(MAX_ID)
_ID = re.compile(ID_PATTERN)


def parse_id(text: str) -> int | None:
    """A path's or query string's record id: 1 … ``MAX_ID`` written as ``str(n)`` writes it —
    ASCII digits, no sign, blank, leading zero, fraction or exponent — else None, which every
    route answers as it answers an id that does not exist (a page 404, the API's 404 for a
    path, 422 naming the field for a query filter). So "1.0", "+1", " 1", "1\n" and
    "00000000000000000001" are no id, and 2147483648 is as missing as 9223372036854775807."""
    return int(text) if isinstance(text, str) and _ID.fullmatch(text) else None


def read_id(value: object) -> int | None:
    """A whole number as pages write ids, versions and counts: ASCII digits (blanks around them
    aside), 0 … ``MAX_ID``; anything else — "１２", "²", "-3", "1e3", "0x10", 20 digits — is
    None. The one reading of a number a page sends (path, query string, form), so no handler
    turns text into a number the database cannot hold (SQLite: OverflowError past 2^63;
    PostgreSQL: out of range past 2^31−1)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    v = value.strip()
    if not _ID_DIGITS.fullmatch(v):
        return None
    n = int(v)
    return n if n <= MAX_ID else None


def unreadable_id(text: str) -> bool:
    """Whether ``text`` is a number that Python's ``int()`` or pydantic would read but that is
    no id: written with other digits than ASCII ("１２", "٣", "²") or past ``MAX_ID`` either side
    (a sign, underscores, blanks and a ".0" tail are read too). Such a value under an id's name
    is refused before any handler reads it (``server.page_input``)."""
    v = text.strip()
    if v[:1] in ("+", "-"):
        v = v[1:]
    v = v.replace("_", "")
    if "." in v:
        v, _, tail = v.partition(".")
        if tail.strip("0"):
            return False
    if not v or not all(c.isdigit() for c in v):
        return False
    return not v.isascii() or len(v.lstrip("0")) > len(str(MAX_ID)) or int(v) > MAX_ID


Rank = Annotated[int, Field(ge=1, le=500, strict=True)]
Count = Annotated[int, Field(ge=0, le=10_000_000, strict=True)]
# 亿元 with at most 4 decimals (万元), non-negative, bounded
Yi = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1000000"), max_digits=12, decimal_places=4, allow_inf_nan=False),
    AfterValidator(lambda d: abs(d) if d == 0 else d),  # "-0.0" is 0, never stored as -0
]
# an amount in 亿元 as shown outside: always four decimals, as a string ("12.5000")
Amount = Annotated[
    Decimal,
    PlainSerializer(
        lambda d: f"{d.quantize(Decimal('0.0001')):f}", return_type=str, when_used="json"
    ),
]

# instants and days from input: bounded so that no time-zone shift can overflow
When = Annotated[datetime, AfterValidator(_year_range)]
Day = Annotated[date, AfterValidator(_year_range)]


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
