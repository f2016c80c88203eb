"""A confidential project's code name gives nothing away (SPEC §5: printed everywhere in place of
the title and firm): not the title of a project its author can see (only those: the refusal must
not reveal another department's confidential project), not the firm's name or alias, not any
firm's name or alias (public); and the leaders
ladder shows such a group's tier as "保密", not a tier that would name the firm."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from crm.db import begin_write, get_engine
from crm.errors import ValidationFailed
from crm.models.accounts import User
from crm.models.firms import FirmAlias
from crm.models.projects import Project
from crm.projects.schemas import ProjectCreate, ProjectUpdate
from crm.projects.service import create_project, update_project
from crm.reports.leaders import leaders_report
from tests.factories import make_department, make_firm, make_project, make_user
from tests.races import second_writer

UNAVAILABLE = "代号不可用（已被使用，或是企业名称、别名或项目名称），请换一个"


def _create(session, who, firm, code_name):
    return create_project(
        session,
        who,
        ProjectCreate(firm_id=firm.id, cluster="IC", is_confidential=True, code_name=code_name),
    )


def test_a_code_name_may_not_name_the_firm_or_be_a_title(session):
    d1, d2 = make_department(session), make_department(session)
    o1, o2 = make_user(session, "officer", d1), make_user(session, "officer", d2)
    firm = make_firm(session, "望江工业有限公司", name_en="Wangjiang Industry")
    session.add(FirmAlias(firm_id=firm.id, alias="望工", alias_norm="望工"))
    secret = make_project(
        session,
        firm,
        "NB",
        owner=o1,
        title="望江控制系统扩能项目",
        is_confidential=True,
        code_name="雪峰-72项目",
    )
    session.flush()
    other = make_firm(session, "长江存储科技有限责任公司")
    session.add(FirmAlias(firm_id=other.id, alias="长存", alias_norm="长存"))
    make_project(session, other, "IC", owner=o1, title="长存二期扩产项目")  # not confidential
    session.flush()
    for who, bad, message in (
        (o2, "望江工业控制项目", "代号不能包含企业名称或别名"),  # its name without the form
        (o2, "WANGJIANG industry-1", "代号不能包含企业名称或别名"),  # its English name, any case
        (o2, "望工一号", "代号不能包含企业名称或别名"),  # an alias
        (o2, "长江存储科技", UNAVAILABLE),  # another firm's name (public)
        (o2, "长存", UNAVAILABLE),  # another firm's alias
        (o2, "长存二期扩产项目", UNAVAILABLE),  # a title the officer can see
        (o1, "望江控制系统扩能项目", UNAVAILABLE),  # their department's secret
        # another department's code name (ATTACK8 P3-5), as typed or folded: the same message
        # as the public reasons, so the refusal tells no more than "not available"
        (o2, "雪峰-72项目", UNAVAILABLE),
        (o2, " 雪峰 - ７２项目", UNAVAILABLE),
    ):
        with pytest.raises(ValidationFailed) as err:
            _create(session, who, firm, bad)
        assert err.value.field == "code_name" and err.value.message.render("zh_CN") == message
    p = _create(session, o2, firm, "蓝鲸-03项目")
    with pytest.raises(ValidationFailed) as err:
        update_project(
            session, o2, p.id, ProjectUpdate(code_name="长存二期扩产项目", version=p.version)
        )
    assert err.value.field == "code_name"
    session.refresh(p)
    assert p.code_name == "蓝鲸-03项目" and p.version == 1
    # a change of something else leaves a code name as it is; its own code name is its own
    update_project(session, o2, p.id, ProjectUpdate(notes="x", version=p.version))
    update_project(session, o2, p.id, ProjectUpdate(code_name="蓝鲸-03项目 ", version=p.version))
    with pytest.raises(ValidationFailed) as err:  # another's, once more
        update_project(session, o2, p.id, ProjectUpdate(code_name="雪峰-72项目", version=p.version))
    assert err.value.message.render("zh_CN") == UNAVAILABLE
    assert secret.code_name == "雪峰-72项目"
    # another department's confidential title is no oracle: the refusal would tell the officer
    # that a hidden project with the title they guessed exists — it is not checked for them
    q = _create(session, o2, firm, "望江控制系统扩能项目")
    assert q.code_name == "望江控制系统扩能项目"


def test_the_ladder_names_a_confidential_groups_tier_confidential(session):
    d = make_department(session)
    manager = make_user(session, "manager", d)
    big = make_firm(session, "保密巨头", global500_rank=3)
    open_firm = make_firm(session, "公开巨头", global500_rank=5)
    make_project(
        session,
        big,
        "NB",
        "signed",
        owner=manager,
        output="1200",
        is_confidential=True,
        code_name="白鹭-51项目",
    )
    make_project(session, open_firm, "NB", "signed", owner=manager, output="1100")
    session.commit()
    (top, *_) = leaders_report(session, manager).bands
    rows = {x.name: x.tier for x in top.firms}
    assert rows == {"白鹭-51项目": "confidential", "公开巨头": "global500"}


@pytest.mark.parametrize(
    "bad",
    [
        "huipu-01项目",  # its name typed in pinyin (the firm search finds 惠普 by it)
        "HuiPu一号",
        "慧普一号",  # a homophone
        "惠-普一号",  # punctuation inside the name
        "惠 普 一号",
        "Hewlett一号",  # a distinctive word of its English alias
        "PACKARD-2",
    ],
)
def test_a_code_name_may_not_name_the_firm_by_sound_or_in_part(session, bad):
    """ATTACK9 P3-3: the check compared the name as written only."""
    d = make_department(session)
    officer = make_user(session, "officer", d)
    firm = make_firm(session, "惠普（重庆）有限公司")
    for alias in ("HP", "惠普公司", "Hewlett Packard"):
        session.add(FirmAlias(firm_id=firm.id, alias=alias, alias_norm=alias.lower()))
    session.flush()
    with pytest.raises(ValidationFailed) as err:
        _create(session, officer, firm, bad)
    assert err.value.field == "code_name"
    assert err.value.message.render("zh_CN") == "代号不能包含企业名称或别名"


def test_a_code_name_that_does_not_name_the_firm_is_taken(session):
    d = make_department(session)
    officer = make_user(session, "officer", d)
    firm = make_firm(session, "惠普（重庆）有限公司", name_en="HP Technology (Chongqing) Co., Ltd.")
    for good in ("雪峰-72项目", "先锋一号", "Technology-9", "蓝鲸03"):
        assert _create(session, officer, firm, good).code_name == good


def test_two_projects_given_one_code_name_at_once_do_not_both_get_it(session):
    """PostgreSQL (READ COMMITTED): both creations checked the name free and both saved it. The
    check is serialised (``crm.db.one_at_a_time``): the second waits, then is refused beside
    the field — not a 500, not a second project with the same code name."""
    d1, d2 = make_department(session), make_department(session)
    o1, o2 = make_user(session, "officer", d1), make_user(session, "officer", d2)
    f1, f2 = make_firm(session, "代号竞态甲公司"), make_firm(session, "代号竞态乙公司")
    session.commit()
    ids = (o1.id, o2.id, f1.id, f2.id)

    def create(s: Session, who: int, firm_id: int) -> Project:
        actor = s.get(User, who)
        assert actor is not None
        return create_project(
            s,
            actor,
            ProjectCreate(firm_id=firm_id, cluster="IC", is_confidential=True, code_name="青鸟"),
        )

    first = Session(get_engine())
    begin_write(first)
    create(first, ids[0], ids[2])
    first.flush()
    t, outcome = second_writer(lambda s: create(s, ids[1], ids[3]))
    first.commit()
    first.close()
    t.join(30)
    assert isinstance(outcome[0], ValidationFailed), outcome
    assert outcome[0].field == "code_name" and outcome[0].text("zh_CN") == UNAVAILABLE
    session.expire_all()
    n = session.scalar(select(func.count()).select_from(Project).where(Project.code_name == "青鸟"))
    assert n == 1
