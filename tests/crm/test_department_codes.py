"""A department's code is its own in any case (ATTACK9 P3-9): the import folders and
``crm add-user --department CODE`` find a department by its code, so "cq-invest" beside
"CQ-INVEST" was a trap."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.accounts.departments import create_department, update_department
from crm.errors import Conflict
from crm.models.accounts import Department
from tests.factories import make_user


def test_a_code_differing_only_in_case_is_taken(session):
    admin = make_user(session, "admin", None)
    create_department(session, admin, "重庆市投资促进局", "CQ-INVEST")
    with pytest.raises(Conflict) as err:
        create_department(session, admin, "另一个局", "cq-invest")
    assert err.value.text("zh_CN") == "部门已存在"
    other = create_department(session, admin, "两江新区招商局", "LJ")
    with pytest.raises(Conflict):
        update_department(session, admin, other.id, name=other.name, code="Cq-Invest", version=1)
    session.refresh(other)
    assert other.code == "LJ"
    codes = session.scalars(select(Department.code)).all()
    assert [c for c in codes if c.lower() == "cq-invest"] == ["CQ-INVEST"]
    # its own code in another case is still its own
    update_department(session, admin, other.id, name=other.name, code="lj", version=1)
    assert other.code == "lj"
