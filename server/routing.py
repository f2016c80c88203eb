"""Route matching once per path, not once per route per request.

FastAPI (0.165) matches a request by walking every route of every included router in order —
the API's ~90 routes before the first page route — and does it twice per request (``matches``,
then ``handle`` again). A profile of a light page under load put a quarter of the request's
CPU there. The outcome of a match depends only on the method and the path (no route of this
app matches on a host or a header), so each included router keeps the outcome per
(method, root path, path) — ``/firms/761`` is one entry, its path parameters included — until
its routes change. The cache is bounded; a full one starts again.

If FastAPI's internals differ (another version), nothing is patched and matching is FastAPI's
own.
"""

from __future__ import annotations

from typing import Any

from fastapi import routing as _fastapi_routing

MAX_ENTRIES = 4096
_included = getattr(_fastapi_routing, "_IncludedRouter", None)
_original = getattr(_included, "_match", None)


def _cached_match(self: Any, scope: dict[str, Any]) -> Any:
    if scope.get("type") != "http":
        return _original(self, scope)  # type: ignore[misc]
    state = self.__dict__
    version = self._effective_candidates_version
    cache = state.get("_crm_matches")
    if cache is None or state.get("_crm_matches_version") != version:
        cache = state["_crm_matches"] = {}
        state["_crm_matches_version"] = version
    key = (scope["method"], scope.get("root_path", ""), scope["path"])
    found = cache.get(key)
    if found is None:
        found = _original(self, scope)  # type: ignore[misc]
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[key] = found
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
