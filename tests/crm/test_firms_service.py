"""Firms: creation, normalised uniqueness, near-duplicate warnings, search, stale edits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm.errors import PermissionDenied, StaleVersion, ValidationFailed
from crm.firms.schemas import FirmCreate, FirmUpdate
from crm.firms.service import (
    DuplicateFirm,
    FirmFilters,
    create_firm,
    list_firms,
    search_firms,
    update_firm,
)
from crm.text import credit_code_check_digit
from tests.factories import make_department, make_user


@pytest.fixture
def officer(session):
    return make_user(session, "officer", make_department(session))


def test_create_firm_derives_tier_pinyin_and_aliases(session, officer):
    f = create_firm(
        session,
        officer,
        FirmCreate(
            name_zh="惠普",
            name_en="Hewlett-Packard",
            aliases=["HP"],
            global500_rank=26,
            clusters=["NB"],
        ),
    )
    assert f.tier == "global500"
    assert f.name_pinyin == "huipu" and f.name_initials == "hp"
    assert f.owner_id == officer.id
    for q in ("惠普", "huipu", "hp", "HP", "hewlett", "Hewlett-Packard"):
        assert [x.id for x in search_firms(session, officer, q)] == [f.id], q


def test_exact_duplicate_after_normalisation_is_refused(session, officer):
    create_firm(session, officer, FirmCreate(name_zh="重庆长安汽车股份有限公司"))
    with pytest.raises(DuplicateFirm) as err:
        create_firm(session, officer, FirmCreate(name_zh="重庆长安汽车有限公司"), confirm=True)
    assert err.value.exact and err.value.candidates[0].name_zh == "重庆长安汽车股份有限公司"


def test_near_duplicate_warns_then_confirm_creates(session, officer):
    first = create_firm(session, officer, FirmCreate(name_zh="重庆渝新精密模具"))
    with pytest.raises(DuplicateFirm) as err:
        create_firm(session, officer, FirmCreate(name_zh="重庆渝新精密模具制造"))
    assert not err.value.exact
    assert err.value.candidates[0].id == first.id
    second = create_firm(session, officer, FirmCreate(name_zh="重庆渝新精密模具制造"), confirm=True)
    assert second.id != first.id


def test_alias_collision_is_a_duplicate(session, officer):
    create_firm(session, officer, FirmCreate(name_zh="惠普", aliases=["HP"]))
    with pytest.raises(DuplicateFirm):
        create_firm(session, officer, FirmCreate(name_zh="HP Inc."), confirm=True)


def test_credit_code_is_the_strongest_signal(session, officer):
    body = "91500000MA5U7AB1X"
    code = body + credit_code_check_digit(body)
    create_firm(session, officer, FirmCreate(name_zh="甲公司", credit_code=code))
    with pytest.raises(DuplicateFirm) as err:
        create_firm(
            session, officer, FirmCreate(name_zh="完全不同的名字", credit_code=code), confirm=True
        )
    assert err.value.candidates[0].reason == "credit_code"


def test_invalid_credit_code_and_rank_are_refused():
    with pytest.raises(ValidationError):
        FirmCreate(name_zh="甲", credit_code="123456789012345670")
    with pytest.raises(ValidationError):
        FirmCreate(name_zh="甲", global500_rank=0)
    with pytest.raises(ValidationError):
        FirmCreate(name_zh="甲", global500_rank=True)


def test_unknown_cluster_is_refused(session, officer):
    with pytest.raises(ValidationFailed) as err:
        create_firm(session, officer, FirmCreate(name_zh="乙", clusters=["NOPE"]))
    assert err.value.field == "clusters"


def test_stale_update_changes_nothing(session, officer):
    f = create_firm(session, officer, FirmCreate(name_zh="丙科技"))
    update_firm(session, officer, f.id, FirmUpdate(version=1, country="中国"))
    with pytest.raises(StaleVersion) as err:
        update_firm(session, officer, f.id, FirmUpdate(version=1, country="美国"))
    assert err.value.current["country"] == "中国"
    assert f.version == 2


def test_update_recomputes_tier(session, officer):
    f = create_firm(session, officer, FirmCreate(name_zh="丁集团"))
    update_firm(session, officer, f.id, FirmUpdate(version=1, china500_rank=99))
    assert f.tier == "china500"


def test_officer_of_another_department_cannot_edit(session, officer):
    f = create_firm(session, officer, FirmCreate(name_zh="戊材料"))
    other = make_user(session, "officer", make_department(session))
    with pytest.raises(PermissionDenied):
        update_firm(session, other, f.id, FirmUpdate(version=1, country="中国"))


def test_parent_loop_is_refused(session, officer):
    a = create_firm(session, officer, FirmCreate(name_zh="母集团"))
    b = create_firm(session, officer, FirmCreate(name_zh="子公司甲", parent_id=a.id))
    with pytest.raises(ValidationFailed):
        update_firm(session, officer, a.id, FirmUpdate(version=1, parent_id=b.id))


def test_list_filters(session, officer):
    create_firm(
        session,
        officer,
        FirmCreate(name_zh="思科", global500_rank=200, clusters=["COMM"], country="美国"),
    )
    create_firm(
        session,
        officer,
        FirmCreate(name_zh="四联集团", is_leader=True, clusters=["INST"], country="中国"),
    )
    rows, total = list_firms(session, officer, FirmFilters(cluster="COMM"))
    assert [r.name_zh for r in rows] == ["思科"] and total == 1
    rows, _ = list_firms(session, officer, FirmFilters(tier="leader"))
    assert [r.name_zh for r in rows] == ["四联集团"]
    rows, _ = list_firms(session, officer, FirmFilters(country="美国"))
    assert [r.name_zh for r in rows] == ["思科"]
