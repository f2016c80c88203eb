"""A list sorted by the column its reader chose, on the server (every page, not one).

The page passes the ``sort`` parameter as it came (``name`` ascending, ``-name`` descending);
only the keys a list declares are honoured — each maps to a column expression written in code —
so no text from the request ever reaches the SQL. Every order ends with the row's id, so rows
with equal values keep one order from page to page."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool = False

    @property
    def param(self) -> str:
        """The value of the ``sort`` parameter that asks for this order."""
        return ("-" if self.descending else "") + self.key


def parse_sort(value: str | None, allowed: Collection[str]) -> Sort | None:
    """``value`` (``key`` or ``-key``) when ``key`` is one of ``allowed``, else None."""
    if not value:
        return None
    value = value.strip()
    descending = value.startswith("-")
    key = value[1:] if descending else value
    return Sort(key, descending) if key in allowed else None


def order_by(sort: Sort, columns: Mapping[str, Any], tiebreak: Any) -> list[Any]:
    """ORDER BY terms for ``sort`` over the list's own ``columns``, then ``tiebreak`` (the id).
    Empty values go last whichever way the column is sorted."""
    col = columns[sort.key]
    terms = [col.is_(None), col.desc() if sort.descending else col.asc()]
    terms.append(tiebreak.desc() if sort.descending else tiebreak.asc())
    return terms
