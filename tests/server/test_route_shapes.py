"""Route matching is kept per path shape (``server.routing``): the pages of every firm share one
entry, each still gets its own ids, and the shape is exact for this app's routes (no segment of
digits of their own, only converters that take any id alike)."""

from __future__ import annotations

import re

from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

import server.routing
from server.app import create_app
from server.routing import path_shape
from tests.factories import make_department, make_firm, make_user
from tests.web.conftest import log_in


def test_the_shape_is_exact_for_every_route() -> None:
    paths = [rc.path for rc in iter_route_contexts(create_app().routes)]
    assert len(paths) > 100  # the routers' routes, not only the app's own
    for path in paths:
        # a segment of digits of the route's own would match one id and not another
        assert not [s for s in path.split("/") if s.isdigit()], path
        # each converter takes any id of 1–9 digits alike (str, int, id, path)
        for conv in re.findall(r"\{[^}:]+:([^}]+)\}", path):
            assert conv in {"str", "int", "id", "path"}, path
    assert path_shape("/firms/761") == path_shape("/firms/9") != path_shape("/firms/new")
    # what the id converter refuses and a str parameter would take is never marked
    for kept in ("/firms/1234567890", "/firms/0", "/firms/01", "/firms/007/activities"):
        assert path_shape(kept) == kept


def test_pages_of_one_shape_walk_the_routes_once_and_get_their_own_ids(
    session, monkeypatch
) -> None:
    officer = make_user(session, "officer", make_department(session))
    a, b, c = (
        make_firm(session, name, owner_id=officer.id) for name in ("甲企业", "乙企业", "丙企业")
    )
    session.commit()
    walks: list[str] = []
    original = server.routing._original

    def counted(self, scope):  # type: ignore[no-untyped-def]
        if not isinstance(self, server.routing._One):  # a walk of a router's routes
            walks.append(scope["path"])
        return original(self, scope)

    with TestClient(create_app()) as client:
        log_in(client, officer)
        assert "甲企业" in client.get(f"/firms/{a.id}").text
        monkeypatch.setattr(server.routing, "_original", counted)
        walks.clear()
        page = client.get(f"/firms/{b.id}").text
        assert "乙企业" in page and "甲企业" not in page
        # the route found for the first firm, asked alone for the second's id: no walk
        assert walks == []
        assert "丙企业" in client.get(f"/firms/{c.id}").text
        assert client.get("/firms/999999999").status_code == 404
        # no id as a path writes it: kept as itself, never taken for the shape of an id
        assert client.get("/firms/01").status_code == 404
        assert "甲企业" in client.get(f"/firms/{a.id}").text
        assert client.get("/firms/%00").status_code in (400, 404)  # no id: never routed as one
        assert client.get(f"/firms/{a.id}").status_code == 200
