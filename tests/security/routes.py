"""The app's own route table, as (METHOD, path) pairs, and helpers to call a route."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from tests.security.access_table import EXTRA_WORLD, PARAMS, Access
from tests.security.world import World

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _plain(path: str) -> str:
    """The path as the access table (and OpenAPI) name it: ``{id:int}`` → ``{id}``."""
    return re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", path)


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, static files aside (HEAD rides on GET)."""
    out: set[tuple[str, str]] = set()
    # FastAPI 0.16x keeps included routers lazily (``_IncludedRouter``): app.routes alone
    # would miss every page and API route; iter_route_contexts walks them with their prefixes.
    for rc in iter_route_contexts(app.routes):
        if isinstance(rc.route, Mount):
            continue  # /static: files, checked by the CSP test
        methods = rc.methods
        if not methods:
            out.add(("WEBSOCKET", _plain(rc.path)))
            continue
        for m in methods:
            if m != "HEAD":
                out.add((m, _plain(rc.path)))
    # the walk must see the routers, or every check below would pass on nothing
    assert ("POST", "/login") in out and ("POST", "/api/v1/auth/token") in out, out
    return sorted(out, key=lambda k: (k[1], k[0]))


def fill_path(path: str, entry: Access | None, world: World) -> str:
    """Replace ``{name}`` / ``{name:converter}`` with the world's ids."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        key = (entry.params if entry else {}).get(name) or PARAMS.get(name)
        if key is None:
            raise KeyError(
                f"no value for path parameter {name!r} in {path}: add it to "
                "access_table.PARAMS or give the entry params={...}"
            )
        value = EXTRA_WORLD.get(key)
        return str(value if value is not None else world.attr(key))

    return re.sub(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}", sub, path)
