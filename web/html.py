"""HTML text for the pages built in Python (``web.timeline``, ``web.followup_rows``, …).

``esc`` is ``markupsafe.escape`` as a plain string: the same five characters replaced the same
way, an object with ``__html__`` taken as it says, but no ``Markup`` made per value (making
one is most of ``escape``'s cost: a page of 50 rows escapes 600 values). The pieces are
joined and marked safe once, by the caller."""

from __future__ import annotations

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
