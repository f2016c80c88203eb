"""One language at a time: every page an administrator can open (the access table's GET pages,
which name every route), rendered in Chinese and in English, shows no text of the other
language beyond proper names (firms, people, departments, projects — what users typed) and the
other language's own name on the switch."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.imports import runs
from crm.models.accounts import Department, User
from crm.models.activities import Activity
from crm.models.firms import Contact, Firm, FirmAlias
from crm.models.followups import Followup
from crm.models.imports import ImportRun
from crm.models.policy import ChainLink, Cluster, Park, PolicyPack
from crm.models.projects import Project
from server.app import create_app
from tests.factories import make_firm
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
# Chinese text and its punctuation (、：（），。 and full-width forms): none on an English page
# outside what users typed
CJK_OR_MARK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]+")
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
        select(FirmAlias.alias),
        select(ImportRun.filename),
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
        # what users typed is taken out first (longest first), then any Chinese character or
        # mark left is the page's own: "Projects：", "a、b", "Users（active 4）"
        for name in sorted(set(proper), key=len, reverse=True):
            if len(name) > 1:
                text = text.replace(name, " ")
        return sorted({m for m in CJK_OR_MARK.findall(text)})
    proper_words = set(WORD.findall(blob))
    return sorted({w for w in WORD.findall(text) if w not in LATIN_OK and w not in proper_words})


def _more_to_show(session, world) -> None:  # type: ignore[no-untyped-def]
    """What the world lacks for every page to show its lists and remarks: an activity with two
    firms, contacts and colleagues (the timeline's separators), an alias, import runs (the
    history's remarks) and a department without a manager's notice read."""
    admin, own = world.users["admin"], world.users["own"]
    second = make_firm(session, "第二测试企业", clusters=("NB", "NEV"))
    firm = session.get(Firm, world.firm)
    session.add(FirmAlias(firm_id=firm.id, alias="安测", alias_norm="安测"))
    contacts = [Contact(firm_id=firm.id, name=n) for n in ("联系人乙", "联系人丙")]
    session.add_all(contacts)
    session.flush()
    log_activity(
        session,
        own,
        ActivityCreate(
            kind="visit",
            summary="两家企业一起拜访",
            firm_ids=[firm.id, second.id],
            project_ids=[world.open_project],
            contact_ids=[c.id for c in contacts],
            officer_ids=[own.id, world.users["other"].id],
        ),
    )
    session.commit()
    body = "企业名称,别名,产业集群\n甲电子,甲,NB\n乙电子,,NOPE\n".encode()
    for mode in ("check", "all"):
        runs.create_run(session, admin, "firms", f"{mode}.csv", body, mode=mode)
    session.commit()
    runs.drain()
    session.expire_all()


@pytest.mark.parametrize(
    "lang,role", [("zh_CN", "admin"), ("en", "admin"), ("en", "manager"), ("en", "own")]
)
def test_every_page_speaks_one_language(session, lang, role):
    world = build_world(session)
    _more_to_show(session, world)
    client = client_for(APP, session, world, role)
    client.cookies.set("lang", lang)
    proper = _proper_names(session, lang)
    problems = []
    for path in PAGES:
        if ACCESS[("GET", path)].expected(role) != OK:
            continue
        url = fill_path(path, ACCESS[("GET", path)], world)
        r = client.get(url, params=ACCESS[("GET", path)].query)
        if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
            continue
        found = _foreign(_seen(r.text), lang, proper)
        if found:
            problems.append(f"{path}: {found[:12]}")
    assert not problems, f"{lang} pages show the other language:\n  " + "\n  ".join(problems)
