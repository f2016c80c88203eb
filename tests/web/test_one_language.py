"""One language at a time: every page an administrator can open (the access table's GET pages,
which name every route), rendered in Chinese and in English, shows no text of the other
language beyond proper names (firms, people, departments, projects — what users typed) and the
other language's own name on the switch."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from crm.models.accounts import Department, User
from crm.models.activities import Activity
from crm.models.firms import Contact, Firm
from crm.models.followups import Followup
from crm.models.policy import ChainLink, Cluster, Park, PolicyPack
from crm.models.projects import Project
from server.app import create_app
from tests.security.access_table import ACCESS, OK
from tests.security.routes import fill_path
from tests.security.world import build_world, client_for

APP = create_app()

# GET pages (not fragments, files, feeds or the API) an administrator opens with a 200
PAGES = sorted(
    path
    for (method, path), entry in ACCESS.items()
    if method == "GET"
    and not path.startswith("/api")
    and entry.admin == OK
    and not entry.htmx
    and not path.endswith((".xlsx", ".ics", ".pdf", ".csv"))
    and path not in ("/healthz", "/login", "/lang/{code}")
)

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
# words a Chinese page may show: product and format names, units, the switch's "English"
LATIN_OK = {
    "Outlook",  # calendar apps named on the calendar page
    "Google",
    "Apple",
    "hp",  # the search box's examples of what it finds
    "huipu",
    "YAML",  # the policy pack's file format
    "testclient",  # the test client's address in the audit trail
    "CRM",
    "API",
    "Excel",
    "CSV",
    "PDF",
    "xlsx",
    "csv",
    "ID",
    "HTTP",
    "HTTPS",
    "URL",
    "English",
    "WeCom",
    "DingTalk",
    "SMTP",
    "iCalendar",
    "ics",
    "YYYY",
    "MM",
    "DD",
    "GDP",
    "Webhook",
    "webhook",
    "JSON",
    "https",
    "http",
    "Fortune",
    "Global",
    "km",
    "pinyin",
}
# read aloud or shown; ``title`` tooltips are where codes belong (names on the page, codes there)
ATTRS = ("placeholder", "aria-label", "alt")


class _Text(HTMLParser):
    """What a reader sees: text outside script/style, and the attributes read aloud."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag in ("script", "style", "code", "pre"):
            self._skip += 1
        for k, v in attrs:
            if k in ATTRS and v:
                self.parts.append(v)

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag in ("script", "style", "code", "pre") and self._skip:
            self._skip -= 1

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if not self._skip:
            self.parts.append(data)


def _seen(html: str) -> str:
    p = _Text()
    p.feed(html)
    return "\n".join(p.parts)


def _proper_names(session, lang: str) -> list[str]:  # type: ignore[no-untyped-def]
    names: list[str] = ["中文", "English"]
    for stmt in (
        select(Firm.name_zh),
        select(Firm.name_en),
        select(Firm.country),
        select(Firm.headquarters),
        select(Contact.name),
        select(User.display_name),
        select(User.username),
        select(Department.name),
        select(Project.title),
        select(Project.code_name),
        select(Project.notes),
        select(Activity.summary),
        select(Followup.title),
        select(PolicyPack.title),  # the policy document's own title
        select(PolicyPack.code),
    ):
        names.extend(str(v) for v in session.scalars(stmt) if v)
    if lang == "zh_CN":  # the plan's Chinese names (chain links such as "LED 照明" carry Latin)
        for stmt in (select(Cluster.name_zh), select(Park.name_zh), select(ChainLink.name_zh)):
            names.extend(str(v) for v in session.scalars(stmt) if v)
    return names


def _foreign(text: str, lang: str, proper: list[str]) -> list[str]:
    blob = "\n".join(proper)
    if lang == "en":
        return sorted({m for m in CJK.findall(text) if m not in blob})
    proper_words = set(WORD.findall(blob))
    return sorted({w for w in WORD.findall(text) if w not in LATIN_OK and w not in proper_words})


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_page_speaks_one_language(session, lang):
    world = build_world(session)
    client = client_for(APP, session, world, "admin")
    client.cookies.set("lang", lang)
    proper = _proper_names(session, lang)
    problems = []
    for path in PAGES:
        url = fill_path(path, ACCESS[("GET", path)], world)
        r = client.get(url, params=ACCESS[("GET", path)].query)
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            continue
        found = _foreign(_seen(r.text), lang, proper)
        if found:
            problems.append(f"{path}: {found[:12]}")
    assert not problems, f"{lang} pages show the other language:\n  " + "\n  ".join(problems)
