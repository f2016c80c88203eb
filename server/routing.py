"""Route matching once per path, not once per route per request.

FastAPI (0.165) matches a request by walking every route of every included router in order —
the API's ~90 routes before the first page route — and does it twice per request (``matches``,
then ``handle`` again). A profile of a light page under load put a quarter of the request's
CPU there. The outcome of a match depends only on the method and the path (no route of this
app matches on a host or a header), so each included router keeps the outcome per
(method, root path, path) — ``/firms/761`` is one entry, its path parameters included — until
its routes change. The cache is bounded; a full one starts again.

A path's record ids do not change which route it finds: ``/firms/761`` and ``/firms/762``
find the same one, so the outcome is kept per path with each id in it (a whole segment of one
to nine digits, the first not 0, as ``str(n)`` writes 1 … 999,999,999) replaced by a mark —
one entry for every firm page, not one per firm (50,000 firms kept the per-path cache
missing, each miss a walk of every route, 0.2–0.5 ms). A path whose shape is known asks only
the route found before, which gives this path's own parameters; should it not match as
before, the routes are walked. Exact because no route of the app has a segment of digits of
its own and every converter in its paths (str, int, path, and id: ``str(n)`` for 1 … 2^31 - 1)
takes such a segment alike; "0", "01" or ten digits are not marked and are kept as themselves
(``tests/server/test_route_shapes.py`` keeps both so).

If FastAPI's internals differ (another version), nothing is patched and matching is FastAPI's
own.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import routing as _fastapi_routing
from starlette.routing import Match

MAX_ENTRIES = 4096
_included = getattr(_fastapi_routing, "_IncludedRouter", None)
_original = getattr(_included, "_match", None)


# a whole segment that is a record id as ``str(n)`` writes it, up to nine digits (every
# converter takes it alike; no route has such a segment of its own), and the mark that stands
# for it in a path's shape
_ID_SEGMENT = re.compile(r"(?<=/)[1-9][0-9]{0,8}(?=/|$)")
_MARK = "\x00"


def path_shape(path: str) -> str:
    """``path`` with each record id replaced by a mark: the paths of one shape find one route."""
    return _ID_SEGMENT.sub(_MARK, path)


class _One:
    """An included router's stand-in offering one candidate: FastAPI's ``_match`` over it
    asks that route alone (its ``effective_candidates`` is all ``_match`` reads of a router)."""

    __slots__ = ("candidates",)

    def __init__(self, candidate: Any) -> None:
        self.candidates = [candidate]

    def effective_candidates(self) -> list[Any]:
        return self.candidates


def _cached_match(self: Any, scope: dict[str, Any]) -> Any:
    if scope.get("type") != "http":
        return _original(self, scope)  # type: ignore[misc]
    state = self.__dict__
    version = self._effective_candidates_version
    cache = state.get("_crm_matches")
    if cache is None or state.get("_crm_matches_version") != version:
        cache = state["_crm_matches"] = {}
        state["_crm_matches_version"] = version
    path = scope["path"]
    if _MARK in path:  # a path that holds the mark itself (a %00) is matched afresh
        return _original(self, scope)  # type: ignore[misc]
    key = (scope["method"], scope.get("root_path", ""), path_shape(path))
    kept = cache.get(key)
    if kept is None:
        found = _original(self, scope)  # type: ignore[misc]
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[key] = (path, found)
    else:
        seen_path, found = kept
        if seen_path != path and found[0] is not Match.NONE:
            # another path of this shape: the route found before, asked for this path's own
            # parameters; the full walk should it not match as before
            candidate = found[2] if found[3] is None else found[3]
            fresh = _original(_One(candidate), scope)  # type: ignore[misc]
            return fresh if fresh[0] is found[0] else _original(self, scope)  # type: ignore[misc]
    match, child_scope, route, context = found
    child_scope = dict(child_scope)  # the caller updates the request's scope from it
    if "path_params" in child_scope:
        child_scope["path_params"] = dict(child_scope["path_params"])
    return match, child_scope, route, context


def install() -> bool:
    """Patch FastAPI's included-router matching with the per-path cache (once; idempotent)."""
    if (
        _included is None
        or _original is None
        or "_effective_candidates_version" not in getattr(_included, "__dataclass_fields__", {})
    ):
        return False
    if _included._match is not _cached_match:
        _included._match = _cached_match
    return True
