"""Hostile numbers in every id the app reads: a walk of the app's own route table that sends
ids out of range (20 digits either side, 2^31, Unicode digits, a superscript, 1e30,
hexadecimal) to every path parameter, every query parameter, the id fields of the page forms
and every field of the API's JSON bodies — as an admin, a manager and an officer. Every answer
is a 4xx (a clear 404 or a field error) or a normal answer, never a 5xx (SQLite raises
OverflowError past 2^63, PostgreSQL NumericValueOutOfRange past 2^31−1, ``int("²")`` raises).

The suite's walk sends the values that found the bugs; ``ID_SWEEP=full`` sends every value as
every role everywhere (about 10 minutes).

Ids are read one way (``crm.schemas.parse_id``; ATTACK11 F6): in a path or a query string an id
is ``str(n)`` for 1 ≤ n ≤ 2^31−1, and any other writing of a number — "1.0", "+1", " 1", "1\n",
leading zeros, "0", 2^31, 2^63−1 — is answered as an id that does not exist. The second half of
this file walks every route with an id in its path, and every query parameter that is an id,
with those writings of a real record's id."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from fastapi.routing import APIRoute, iter_route_contexts

from crm.accounts.passwords import hash_password
from crm.accounts.sessions import end_sessions
from crm.accounts.tokens import issue_api_token
from crm.models.accounts import User
from server.app import create_app
from tests.factories import PASSWORD
from tests.security.access_table import ACCESS
from tests.security.routes import UNSAFE, app_routes, fill_path
from tests.security.world import World, build_world, client_for

FULL = os.environ.get("ID_SWEEP") == "full"
APP = create_app()
# /login and /logout carry no ids (and a walk of failed logins is throttled: 429)
ROUTES = [(m, p) for m, p in app_routes(APP) if m != "WEBSOCKET" and p not in ("/login", "/logout")]
PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}")

ALL_TEXT = [
    "12345678901234567890",
    "-12345678901234567890",
    "2147483648",
    "-1",
    "1e30",
    "0x10",
    "１２",
    "１２３４５６７８９０１２３４５６７８９０",
    "²",
]
# the values that each reached a different fault: a 20-digit id below zero past the path check
# (and past 2^63 as a number), Unicode digits past the byte check, an int() of "²"
TEXT = (
    ALL_TEXT if FULL else ["-12345678901234567890", "１２３４５６７８９０１２３４５６７８９０", "²"]
)
ALL_JSON: list[Any] = [10**20, -(10**20), 2**31, -1, 1e30, "0x10", "１２", "²", "1" * 20]
JSON = ALL_JSON if FULL else [10**20, -(10**20), 1e30, "１２"]
ROLES = ("admin", "manager", "own")

# the names page forms and page query strings carry ids, versions and counts under
FORM_NAMES = [
    "id",
    "ids",
    "version",
    "firm_id",
    "firm_ids",
    "project_id",
    "project_ids",
    "contact_ids",
    "officer_ids",
    "department_id",
    "owner_id",
    "assignee_id",
    "to_user_id",
    "parent_id",
    "other_id",
    "first_id",
    "later_id",
    "entity_id",
    "owner",
    "officer",
    "department",
    "row",
    "firm_1",
    "version_1",
]
if FULL:
    FORM_NAMES += ["actor", "keep", "cluster", "park", "week", "year", "page", "offset", "amount"]
PAGE_QUERY = ["id", "page", "offset", "firm_id", "project_id", "owner_id", "department_id"]
PAGE_QUERY += ["owner", "officer", "department", "exclude", "parent_id", "reassigned"]


def _route_table() -> dict[tuple[str, str], APIRoute]:
    out: dict[tuple[str, str], APIRoute] = {}
    for rc in iter_route_contexts(APP.routes):
        if isinstance(rc.route, APIRoute):
            plain = re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", rc.path)
            for m in rc.route.methods or ():
                out[(m, plain)] = rc.route
    return out


ROUTE_OF = _route_table()
OPENAPI = APP.openapi()


def _query_names(method: str, path: str) -> list[str]:
    route = ROUTE_OF.get((method, path))
    names = [p.alias for p in route.dependant.query_params] if route else []
    if not path.startswith("/api/") and method == "GET":
        names += PAGE_QUERY
    return sorted(set(names))


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = OPENAPI["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _json_fields(method: str, path: str) -> list[str]:
    """The top-level properties of an API operation's JSON body."""
    op = OPENAPI["paths"].get(path, {}).get(method.lower(), {})
    body = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not body:
        return []
    schema = _resolve(body["schema"])
    props: dict[str, Any] = {}
    for part in [schema, *schema.get("anyOf", []), *schema.get("allOf", [])]:
        props.update(_resolve(part).get("properties", {}))
    return sorted(props)


class Caller:
    """One signed-in role's client, signed in again when a route ended its session (a
    password reset, a deactivation)."""

    def __init__(self, session: Any, world: World, role: str) -> None:
        self.session, self.world, self.role = session, world, role
        self.client = client_for(APP, session, world, role)
        self.token = self.client.headers.pop("X-Test-Bearer")

    def still_signed_in(self) -> None:
        r = self.client.get("/account", follow_redirects=False)
        if r.status_code == 200:  # a fresh token too (a route may have revoked this one)
            user = self.session.get(User, self.world.users[self.role].id)
            assert user is not None
            self.token, _ = issue_api_token(self.session, user)
            self.session.commit()
        else:
            self.client.close()
            user = self.world.users[self.role]
            # a route of the walk may have deactivated, locked or reset the user: as it was
            self.session.expire_all()
            row = self.session.get(User, user.id)
            assert row is not None
            row.is_active, row.locked_until, row.failed_logins = True, None, 0
            row.password_hash = hash_password(PASSWORD)
            self.session.commit()
            self.client = client_for(APP, self.session, self.world, self.role)
            self.token = self.client.headers.pop("X-Test-Bearer")

    def call(self, method: str, path: str, url: str, **kwargs: Any) -> Any:
        is_api = path.startswith("/api/")
        entry = ACCESS.get((method, path))
        headers: dict[str, str] = {}
        if is_api:
            headers["Authorization"] = f"Bearer {self.token}"
        elif method in UNSAFE:
            headers["X-CSRFToken"] = self.client.cookies.get("csrftoken", "")
        if entry is not None and entry.htmx:
            headers["HX-Request"] = "true"
        return self.client.request(method, url, headers=headers, follow_redirects=False, **kwargs)


def _base(method: str, path: str) -> dict[str, Any]:
    """A route's ordinary body and query string (from the access table)."""
    entry = ACCESS.get((method, path))
    out: dict[str, Any] = {"params": dict(entry.query) if entry else {}}
    if method in UNSAFE:
        if path.startswith("/api/"):
            out["json"] = entry.json if entry and entry.json is not None else {}
        else:
            out["data"] = dict(entry.form or {}) if entry else {}
    return out


def _ordered() -> list[tuple[str, str]]:
    """Reading routes first, then changing ones, deletions last (they take the world away)."""
    rank = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}

    def key(r: tuple[str, str]) -> tuple[int, str]:
        return (2 if "delete" in r[1] else rank[r[0]], r[1])

    return sorted(ROUTES, key=key)


Calls = Iterator[tuple[str, dict[str, Any], str]]


def _walk(
    session: Any, roles: tuple[str, ...], calls: Callable[[str, str, World], Calls]
) -> list[str]:
    world = build_world(session)
    callers = [Caller(session, world, role) for role in roles]
    problems: list[str] = []
    for method, path in _ordered():
        for caller in callers:
            for url, kwargs, what in calls(method, path, world):
                r = caller.call(method, path, url, **kwargs)
                if r.status_code >= 500 or "Traceback" in r.text:
                    problems.append(f"{method} {path} as {caller.role}: {what} → {r.status_code}")
            if method in UNSAFE:
                caller.still_signed_in()
    for caller in callers:
        caller.client.close()
    return problems


def _report(problems: list[str]) -> None:
    if out := os.environ.get("ID_SWEEP_OUT"):
        with open(out, "a") as f:
            f.write("".join(x + "\n" for x in problems))
    assert not problems, "\n".join(problems[:40])


def _good_url(method: str, path: str, world: World) -> str | None:
    try:
        return fill_path(path, ACCESS.get((method, path)), world)
    except KeyError:
        return None


def test_hostile_ids_in_paths(session) -> None:  # type: ignore[no-untyped-def]
    def calls(method: str, path: str, world: World) -> Calls:
        entry = ACCESS.get((method, path))
        for m in PARAM.finditer(path):
            for v in TEXT:
                mangled = path[: m.start()] + quote(v, safe="") + path[m.end() :]
                yield fill_path(mangled, entry, world), _base(method, path), f"path {v}"

    _report(_walk(session, ROLES, calls))


def test_hostile_ids_in_query_strings(session) -> None:  # type: ignore[no-untyped-def]
    def calls(method: str, path: str, world: World) -> Calls:
        url = _good_url(method, path, world)
        if url is None:
            return
        base = _base(method, path)
        for name in _query_names(method, path):
            for v in TEXT:
                yield url, {**base, "params": {**base["params"], name: v}}, f"?{name}={v}"

    _report(_walk(session, ROLES if FULL else ("admin",), calls))


def test_hostile_ids_in_page_forms_and_api_bodies(session) -> None:  # type: ignore[no-untyped-def]
    def calls(method: str, path: str, world: World) -> Calls:
        url = _good_url(method, path, world)
        if url is None or method not in UNSAFE:
            return
        base = _base(method, path)
        if path.startswith("/api/"):
            body = base["json"] if isinstance(base["json"], dict) else {}
            for name in _json_fields(method, path):
                for jv in JSON:
                    yield url, {**base, "json": {**body, name: jv}}, f"json {name}={jv!r}"
                    if FULL:
                        yield url, {**base, "json": {**body, name: [jv]}}, f"json {name}=[…]"
            return
        for name in FORM_NAMES:
            for v in TEXT:
                yield url, {**base, "data": {**base["data"], name: v}}, f"form {name}={v}"

    _report(_walk(session, ROLES if FULL else ("admin",), calls))


def test_the_walk_signs_in_again_after_a_password_reset(session) -> None:  # type: ignore[no-untyped-def]
    """The walk's own check: a caller whose session a route ended is signed in again (or the
    rest of the walk would see only the login page and pass on nothing)."""
    world = build_world(session)
    caller = Caller(session, world, "own")
    end_sessions(session, world.users["own"].id)
    session.commit()
    assert caller.client.get("/account", follow_redirects=False).status_code != 200
    caller.still_signed_in()
    assert caller.client.get("/account", follow_redirects=False).status_code == 200


# --- one reading of an id (ATTACK11 F6) ---------------------------------------------------------

ID_NAME = re.compile(r"^(id|ids|[a-z_]+_ids?)$")
MISSING = str(2**31 - 1)  # an id in range that no record has


def _no_ids(real: str) -> list[str]:
    """Writings of the number ``real`` (a record's id) that are no id, URL-encoded, and
    numbers that are none: each must be answered as a missing id is."""
    forms = [f"{real}.0", f"+{real}", f"%20{real}", f"{real}%20", f"{real}%0A", f"%0A{real}"]
    forms += [real.zfill(20), f"0{real}", f"-{real}", f"{real}e0", f"{real}%2E0"]
    forms += ["0", "2147483648", "9223372036854775807", "18446744073709551616"]
    return forms


def _id_params(path: str) -> list[re.Match[str]]:
    return [m for m in PARAM.finditer(path) if ID_NAME.match(m.group(1))]


def test_every_id_in_a_route_path_is_read_as_an_id() -> None:
    """Every path parameter named as an id (``id``, ``…_id``) is declared ``{name:id}``: read
    by the one id convertor (``server.ids``), so a route added later reads its ids the same way.
    The other parameters are names, not numbers."""
    loose = []
    names = set()
    for rc in iter_route_contexts(APP.routes):
        for m in re.finditer(r"\{([^}:]+)(:[a-z]+)?\}", rc.path):
            names.add(m.group(1))
            if ID_NAME.match(m.group(1)) and m.group(2) != ":id":
                loose.append(rc.path)
    assert loose == []
    assert {"firm_id", "project_id", "contact_id", "followup_id", "activity_id"} <= names
    assert {"user_id", "department_id", "merge_id", "run_id", "message_id"} <= names
    others = {n for n in names if not ID_NAME.match(n)}
    assert others == {"code", "kind", "name", "stage", "token"}, others


def _answer(r: Any) -> tuple[int, str | None]:
    if r.headers.get("content-type", "").startswith("application/json"):
        body = r.json()
        return r.status_code, body.get("error") if isinstance(body, dict) else None
    return r.status_code, None


def test_an_id_in_a_path_written_any_other_way_is_a_missing_id(session) -> None:  # type: ignore[no-untyped-def]
    """Every route with an id in its path (found in the app's route table), each id in turn
    written as "1.0", "+1", " 1", "1\\n", "00…01", 2^31, 2^63−1 …: a 404 page, or the API's
    404 ``not_found`` — what the same route answers for an id that no record has — and never
    the page of the record whose number it spells."""
    world = build_world(session)
    caller = Caller(session, world, "admin")
    problems: list[str] = []
    swept = 0
    for method, path in _ordered():
        entry = ACCESS.get((method, path))
        for m in _id_params(path):
            real = fill_path(m.group(0), entry, world)
            want = (404, "not_found") if path.startswith("/api/") else (404, None)
            url = fill_path(path[: m.start()] + MISSING + path[m.end() :], entry, world)
            missing = _answer(caller.call(method, path, url, **_base(method, path)))
            if missing != want:
                problems.append(f"{method} {path}: a missing {m.group(1)} → {missing}")
            for v in _no_ids(real):
                url = fill_path(path[: m.start()] + v + path[m.end() :], entry, world)
                got = _answer(caller.call(method, path, url, **_base(method, path)))
                swept += 1
                if got != want:
                    problems.append(f"{method} {path}: {m.group(1)}={v} → {got}")
            if method in UNSAFE:
                caller.still_signed_in()
    caller.client.close()
    assert swept > 60 * len(_no_ids("1"))  # the walk saw the routes
    assert not problems, "\n".join(problems[:60])


def _query_ids(method: str, path: str) -> list[str]:
    """The query parameters of a route that are ids: declared by the route (the API's list
    filters, a page's pickers) and, on every page, the names the pages' filters use."""
    route = ROUTE_OF.get((method, path))
    names = {p.alias for p in route.dependant.query_params} if route else set()
    if not path.startswith("/api/"):
        names |= {"firm_id", "project_id", "owner_id", "department_id", "owner", "officer"}
    # the audit trail's entity_id is an entity's key, any text (server.page_input)
    names.discard("entity_id")
    return sorted(n for n in names if ID_NAME.match(n) or n in ("owner", "officer"))


def test_an_id_in_a_query_string_written_any_other_way_is_refused_alike(session) -> None:  # type: ignore[no-untyped-def]
    """Every query parameter that is an id, on every GET route: a writing of a real id that is
    no id is a 404 page, and on the API a 422 naming the parameter — the same on every API path
    — never a filter by the record whose number it spells, never a 500."""
    world = build_world(session)
    caller = Caller(session, world, "admin")
    problems: list[str] = []
    seen: set[str] = set()
    real = str(world.firm)
    for method, path in _ordered():
        if method != "GET" or (url := _good_url(method, path, world)) is None:
            continue
        base = _base(method, path)
        for name in _query_ids(method, path):
            seen.add(name)
            for v in _no_ids(real):
                params = "&".join(
                    [f"{k}={quote(str(x), safe='')}" for k, x in base["params"].items()]
                    + [f"{name}={v}"]
                )
                r = caller.call(method, path, f"{url}?{params}")
                if path.startswith("/api/"):
                    body = r.json() if r.status_code == 422 else {}
                    if r.status_code != 422 or body.get("field") != name:
                        problems.append(f"GET {path}?{name}={v} → {r.status_code} {r.text[:80]}")
                elif r.status_code != 404:
                    problems.append(f"GET {path}?{name}={v} → {r.status_code}")
    caller.client.close()
    assert {"firm_id", "project_id", "owner_id", "department_id", "other_id"} <= seen
    assert not problems, "\n".join(problems[:60])
