"""HTML text for the pages built in Python (``web.timeline``, ``web.followup_rows``, …).

``esc`` is ``markupsafe.escape`` as a plain string: the same five characters replaced the same
way, an object with ``__html__`` taken as it says, but no ``Markup`` made per value (making
one is most of ``escape``'s cost: a page of 50 rows escapes 600 values). The pieces are
joined and marked safe once, by the caller."""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter, itemgetter
from typing import Any

try:  # markupsafe's own C escaping, without the Markup around it
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - markupsafe without its speedups

    def _escape_inner(s: str, /) -> str:
        return (
            s.replace("&", "&amp;")
            .replace(">", "&gt;")
            .replace("<", "&lt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )


def esc(value: Any) -> str:
    """``str(markupsafe.escape(value))``, faster."""
    if type(value) is str:
        return _escape_inner(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return str(html())
    return _escape_inner(str(value))


_Read = Callable[[Any], tuple[Any, ...]]


class Reader:
    """A row's shown values in one call, ``Reader("id", "title")(first_row)(row)`` → (id,
    title): by position from a result row (a ``Row``'s attribute is a lookup by name each
    time, ten times an index), by attribute from anything else (an entity, a namedtuple)."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.by_name: _Read = attrgetter(*names)
        self.by_position: dict[tuple[str, ...], _Read] = {}

    def __call__(self, row: Any) -> _Read:
        fields = getattr(row, "_fields", None)
        if fields is None:
            return self.by_name
        read = self.by_position.get(fields)
        if read is None:
            read = self.by_position[fields] = itemgetter(*(fields.index(n) for n in self.names))
        return read
