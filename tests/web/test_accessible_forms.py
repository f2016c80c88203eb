"""Accessibility basics of every page (WCAG 2.4.1, 1.3.1, 3.3.1): a "skip to content" link
first in the page, every form field named for a screen reader (a <label>, aria-label or
aria-labelledby), and every error shown beside a field tied to it (aria-describedby). A walk of
the app's own GET pages as an admin and an officer."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from server.app import create_app
from tests.security.access_table import ACCESS
from tests.security.routes import app_routes, fill_path
from tests.security.world import build_world, client_for

APP = create_app()
SKIP = {"hidden", "submit", "button", "reset", "image"}


class Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.labelled_ids: set[str] = set()
        self.described: set[str] = set()
        self.error_ids: list[str] = []
        self.fields: list[dict[str, str | None]] = []
        self.label_depth = 0
        self.first_link: str | None = None
        self.seen_body = False
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"] or "")
        if tag == "body":
            self.seen_body = True
        if tag == "a" and self.seen_body and self.first_link is None:
            self.first_link = a.get("href") or ""
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.labelled_ids.add(a["for"] or "")
        for ref in (a.get("aria-describedby") or "").split():
            self.described.add(ref)
        if a.get("id", "") and (a.get("id") or "").startswith("err-"):
            self.error_ids.append(a["id"] or "")
        if tag in ("input", "select", "textarea"):
            if tag == "input" and (a.get("type") or "text") in SKIP:
                return
            self.fields.append({**a, "_tag": tag, "_in_label": "1" if self.label_depth else ""})

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self.label_depth:
            self.label_depth -= 1

    def unnamed(self) -> list[str]:
        out = []
        for f in self.fields:
            named = (
                f["_in_label"]
                or f.get("aria-label")
                or f.get("aria-labelledby")
                or f.get("title")
                or (f.get("id") and f["id"] in self.labelled_ids)
            )
            if not named:
                out.append(f"<{f['_tag']} name={f.get('name')!r} id={f.get('id')!r}>")
        return out


def _pages() -> list[str]:
    return [
        p
        for m, p in app_routes(APP)
        if m == "GET"
        and not p.startswith(("/api/", "/static"))
        and not p.endswith((".xlsx", ".ics", ".pdf", ".csv"))
        and p not in ("/logout", "/healthz")
        and not (ACCESS.get((m, p)) and ACCESS[(m, p)].htmx)
    ]


def test_every_page_skips_to_content_and_names_its_fields(session) -> None:  # type: ignore[no-untyped-def]
    world = build_world(session)
    problems: list[str] = []
    for role in ("admin", "own"):
        client = client_for(APP, session, world, role)
        client.headers.pop("X-Test-Bearer", None)
        for path in _pages():
            entry = ACCESS.get(("GET", path))
            try:
                url = fill_path(path, entry, world)
            except KeyError:
                continue
            r = client.get(url, params=entry.query if entry else None, follow_redirects=False)
            if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
                continue
            page = Fields()
            page.feed(r.text)
            if "<body" in r.text and page.first_link != "#main":
                problems.append(f"{path}: first link {page.first_link!r}, not the skip link")
            if "<body" in r.text and "main" not in page.ids:
                problems.append(f"{path}: no id=main to skip to")
            for field in page.unnamed():
                problems.append(f"{path} as {role}: unnamed field {field}")
        client.close()
    assert not problems, "\n".join(sorted(set(problems)))


# an error with no field of its own to point at: shown at the form's top as well as here
NO_FIELD = {("followups/form.html", "project_id")}


def test_every_error_beside_a_field_is_tied_to_it() -> None:
    """A template that shows ``err('x')`` beside a field marks the field with ``inv('x')``
    (aria-invalid, aria-describedby="err-x"), so a screen reader reads the error with it."""
    root = Path(__file__).resolve().parents[2] / "web" / "templates"
    loose = []
    for path in sorted(root.rglob("*.html")):
        text = path.read_text()
        shown = set(re.findall(r"err\('([a-z_]+)'\)", text))
        tied = set(re.findall(r"inv\('([a-z_]+)'\)", text))
        tied |= set(re.findall(r'aria-describedby="err-([a-z_]+)"', text))
        name = str(path.relative_to(root))
        loose += [f"{name}: {f}" for f in sorted(shown - tied) if (name, f) not in NO_FIELD]
    assert not loose, loose
