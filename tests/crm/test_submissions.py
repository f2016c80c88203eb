"""A one-use key is bound to what it was first used for (``crm.submissions``, ATTACK12 F2):
the same submission again is "already submitted"; another form, target or content with the key
is refused as a reuse; a key kept before the digest (migration 0028) answers as before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from crm import submissions
from crm.followups.schemas import FollowupCreate
from crm.models.submissions import FormSubmission
from crm.submissions import AlreadySubmitted, KeyReused, claim, fingerprint
from tests.factories import make_department, make_user

KEY = "bound-key-0000000001"


def test_the_same_submission_digests_alike_however_it_is_written():
    due = datetime(2030, 1, 2, 9, tzinfo=timezone(timedelta(hours=8)))
    a = FollowupCreate.model_validate({"title": "回访", "due_at": due, "firm_id": 3})
    b = FollowupCreate.model_validate(
        {"firm_id": 3, "due_at": "2030-01-02T01:00:00Z", "title": "回访", "notes": None}
    )
    assert fingerprint("POST", "/followups/new", a) == fingerprint("post", "/followups/new", b)
    # without an offset: local time, as the services read it (crm.clock.as_utc; 09:00 in
    # Chongqing is 01:00Z) — an API retry that writes the instant the other way is the same
    local = FollowupCreate.model_validate(
        {"title": "回访", "due_at": "2030-01-02T09:00:00", "firm_id": 3}
    )
    assert fingerprint("POST", "/followups/new", local) == fingerprint("POST", "/followups/new", a)
    assert fingerprint("POST", "/x", {"a": 1, "b": [1, 2]}) == fingerprint(
        "POST", "/x", {"b": [1, 2], "a": 1}
    )
    assert fingerprint("POST", "/x", {"n": Decimal("1.50")}) == fingerprint(
        "POST", "/x", {"n": Decimal("1.5")}
    )
    assert fingerprint("POST", "/x", {"d": date(2026, 11, 1)}) == fingerprint(
        "POST", "/x", {"d": "2026-11-01"}
    )
    assert len(fingerprint("POST", "/x", {})) == 64


def test_another_path_method_or_content_digests_apart():
    base = fingerprint("POST", "/firms/17/activities", {"summary": "甲", "firm_ids": [17]})
    assert base != fingerprint("POST", "/firms/18/activities", {"summary": "甲", "firm_ids": [17]})
    assert base != fingerprint("POST", "/firms/17/activities", {"summary": "乙", "firm_ids": [17]})
    assert base != fingerprint("PUT", "/firms/17/activities", {"summary": "甲", "firm_ids": [17]})
    assert fingerprint("POST", "/firms", {"confirm": False}) != fingerprint(
        "POST", "/firms", {"confirm": True}
    )
    t = datetime(2030, 1, 2, 1, tzinfo=UTC)
    assert fingerprint("POST", "/x", {"t": t}) != fingerprint(
        "POST", "/x", {"t": t + timedelta(minutes=1)}
    )


def test_claim_tells_a_repeat_from_a_reuse(session):
    me = make_user(session, "officer", make_department(session))
    session.commit()
    first = {"method": "POST", "path": "/firms/1/contacts", "content": {"name": "甲"}}
    claim(session, me, KEY, **first, outcome="/firms/1")
    session.commit()
    with pytest.raises(AlreadySubmitted) as again:
        claim(session, me, KEY, **first)
    assert again.value.outcome == "/firms/1"
    session.rollback()
    for other in (
        {**first, "path": "/firms/2/contacts"},
        {**first, "content": {"name": "乙"}},
        {**first, "path": "/followups/new"},
    ):
        with pytest.raises(KeyReused) as reused:
            claim(session, me, KEY, **other)
        assert reused.value.status == 422 and reused.value.code == "idempotency_key_reused"
        assert "已用于另一次提交" in reused.value.text("zh_CN")
        assert "already used for a different submission" in reused.value.text("en")
        session.rollback()
    assert session.scalar(select(func.count()).select_from(FormSubmission)) == 1
    # a key kept before migration 0028 (no digest): any submission with it, as before
    session.execute(update(FormSubmission).values(digest=None))
    session.commit()
    with pytest.raises(AlreadySubmitted):
        claim(session, me, KEY, **{**first, "content": {"name": "乙"}})
    session.rollback()


def test_no_key_claims_nothing(session):
    me = make_user(session, "officer", make_department(session))
    session.commit()
    for _ in range(2):
        claim(session, me, None, method="POST", path="/x", content={})
    assert session.scalar(select(func.count()).select_from(FormSubmission)) == 0
    session.rollback()
    assert submissions.read_key("  " + KEY + " ") == KEY
