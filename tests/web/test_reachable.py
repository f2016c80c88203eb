"""Nothing you must type a URL to reach: starting from the start page and following only the
links and GET forms the pages themselves offer (as an administrator, who sees every menu), the
walk reaches every page route the app serves."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from server.app import create_app
from tests.security.access_table import ACCESS, OK
from tests.security.routes import app_routes
from tests.security.world import build_world, client_for

APP = create_app()
FILES = (".xlsx", ".ics", ".pdf", ".csv")
# not pages a person navigates to: the login page (signed in, it leads on), the language
# switch's old link form, the health check
NOT_PAGES = {"/login", "/lang/{code}", "/healthz"}


class _Links(HTMLParser):
    """Where a page can take its reader: links, the parts it loads itself (``hx-get``), and its
    GET forms — sent as they are and with each choice of their pickers (the follow-ups of the
    team are one choice of a select away)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self._form: str | None = None
        self._select: str | None = None
        self._options = 0

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("hx-get"):  # a part of the page it loads itself (the bell's count)
            self.links.append(a["hx-get"])
        if tag == "form" and (a.get("method") or "get").lower() == "get" and a.get("action"):
            self._form = a["action"]
            self.links.append(self._form)
        if tag == "select" and self._form:
            self._select, self._options = a.get("name"), 0
        if tag == "option" and self._form and self._select and a.get("value"):
            self._options += 1
            if self._options <= 2:  # a choice or two shows where the picker leads
                self.links.append(f"{self._form}?{self._select}={a['value']}")

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "form":
            self._form = None
        if tag == "select":
            self._select = None


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile(
        "^"
        + re.sub(r"\{[^}]+\}", r"[^/]+", re.escape(path).replace(r"\{", "{").replace(r"\}", "}"))
        + "$"
    )


def test_every_page_is_reached_from_the_menus_and_links(session):
    world = build_world(session)
    client = client_for(APP, session, world, "admin")
    pages = [
        path
        for method, path in app_routes(APP)
        if method == "GET"
        and not path.startswith(("/api", "/static"))
        and path not in NOT_PAGES
        and not (ACCESS.get(("GET", path)) and ACCESS[("GET", path)].htmx)
        and ACCESS.get(("GET", path)) is not None
        and ACCESS[("GET", path)].admin in (OK, 303)
    ]
    patterns = {p: _pattern(p) for p in pages}
    seen: set[str] = set()
    reached: set[str] = set()
    queue = deque(["/"])
    while queue and len(seen) < 600:
        target = queue.popleft()
        if target in seen:
            continue
        seen.add(target)
        path = urlsplit(target).path
        for p, rx in patterns.items():
            if rx.match(path):
                reached.add(p)
        if path.endswith(FILES):
            continue  # a download: reached, nothing to follow
        r = client.get(target)
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            continue
        parser = _Links()
        parser.feed(r.text)
        for href in parser.links:
            url = urlsplit(urljoin("http://testserver" + target, href))
            if url.netloc != "testserver" or url.path.startswith(("/api", "/static")):
                continue
            # a filter is a different view (the team's follow-ups); pages and orders are not
            query = "&".join(
                q
                for q in url.query.split("&")
                if q and not q.startswith(("page=", "sort=", "offset="))
            )
            nxt = url.path + ("?" + query if query else "")
            if nxt not in seen:
                queue.append(nxt)
    missing = sorted(set(pages) - reached)
    assert not missing, "pages no menu or link leads to:\n  " + "\n  ".join(missing)
