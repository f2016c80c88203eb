"""One language at a time in the API's refusals: the same refusals (authorisation, merge,
reassignment, conflicts, date and length checks, version) answered to a reader whose saved
language is Chinese and to one whose is English, each only in that language."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from crm.models.accounts import User

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# a Chinese answer may name these (field names the API documents, the pack's own units)
LATIN_OK = {"other_id", "fonts-noto-cjk", "CRM_PDF_FONT", "NUL", "Unicode", "JSON"}
WORD = re.compile(r"[A-Za-z_][A-Za-z_-]{2,}")


def _messages(body: dict) -> list[str]:
    """The messages a reader sees, without the API's own field names (``firm_id: …``)."""
    fields = {body.get("field")} | {e.get("field") for e in body.get("errors") or []}
    out = [body.get("message", "")]
    out += [e.get("message", "") for e in body.get("errors") or []]
    for f in fields - {None}:
        out = [m.replace(f"{f}: ", "") for m in out]
    return [m for m in out if m]


def _refusals(client, people) -> list[tuple[str, int, dict]]:  # type: ignore[no-untyped-def]
    h, hb, m = people.auth("officer"), people.auth("officer_b"), people.auth("manager")
    firm = client.post(
        "/api/v1/firms", json={"name_zh": "语言测试企业", "owner_id": people.officer.id}, headers=h
    ).json()
    fid = firm["id"]
    out = []

    def call(name: str, method: str, url: str, headers: dict, **kw) -> None:  # type: ignore[no-untyped-def]
        r = client.request(method, url, headers=headers, **kw)
        out.append((name, r.status_code, r.json()))

    call(
        "merge with itself",
        "POST",
        f"/api/v1/firms/{fid}/merge",
        m,
        json={"other_id": fid, "version": 1, "other_version": 1},
    )
    call("no such merge", "POST", "/api/v1/firms/merges/999999/undo", m)
    call(
        "merge by an officer",
        "POST",
        f"/api/v1/firms/{fid}/merge",
        h,
        json={"other_id": fid, "version": 1, "other_version": 1},
    )
    call(
        "another department's firm",
        "PATCH",
        f"/api/v1/firms/{fid}",
        hb,
        json={"website": "https://x.example", "version": firm["version"]},
    )
    call(
        "stale version",
        "PATCH",
        f"/api/v1/firms/{fid}",
        h,
        json={"website": "https://x.example", "version": firm["version"] + 5},
    )
    call(
        "date out of range",
        "POST",
        "/api/v1/projects",
        h,
        json={"firm_id": fid, "cluster": "NB", "expected_sign_date": "1980-01-01"},
    )
    call(
        "dates out of order",
        "POST",
        "/api/v1/projects",
        h,
        json={
            "firm_id": fid,
            "cluster": "NB",
            "expected_sign_date": "2027-05-01",
            "expected_land_date": "2027-01-01",
        },
    )
    call(
        "another department's project",
        "POST",
        "/api/v1/projects",
        h,
        json={"firm_id": fid, "cluster": "NB", "department_id": people.dept_b.id},
    )
    call("not a number", "POST", "/api/v1/projects", h, json={"firm_id": "x", "cluster": "NB"})
    # answers no route gave: still the token owner's language
    call("method not allowed", "PUT", f"/api/v1/firms/{fid}", h, json={})
    call(
        "not JSON",
        "POST",
        "/api/v1/projects",
        {**h, "content-type": "application/json"},
        content=b'{"firm_id": 1,',
    )
    call("too large", "POST", "/api/v1/projects", h, content=b"x" * (10 * 1024 * 1024 + 1))
    call("day out of range", "GET", "/api/v1/reports/pipeline?date_to=9999-12-31", m)
    call("credit code", "PATCH", f"/api/v1/firms/{fid}", h, json={"credit_code": "1", "version": 1})
    return out


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_refusals_speak_the_readers_language(client, people, session, lang):
    session.execute(update(User).values(language=lang))
    session.commit()
    answers = _refusals(client, people)
    problems = []
    for name, status, body in answers:
        assert 400 <= status < 500, (name, status, body)
        if name == "not JSON":
            assert body["field"] == "body", body
        messages = _messages(body)
        assert messages, (name, body)
        for text in messages:
            if lang == "en":
                if CJK.search(text):
                    problems.append(f"{name}: {text!r}")
            else:
                foreign = [w for w in WORD.findall(text) if w not in LATIN_OK]
                if foreign or not CJK.search(text):
                    problems.append(f"{name}: {text!r}")
    assert not problems, f"{lang} answers in the other language:\n  " + "\n  ".join(problems)
