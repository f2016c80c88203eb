"""Input the outside probe found accepted or badly answered (P3): each is refused with a clear
message naming its field, in the reader's language, and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from crm.accounts.users import update_user
from crm.activities.schemas import ActivityCreate
from crm.activities.service import log_activity
from crm.clock import today_local
from crm.errors import Conflict, PermissionDenied, ValidationFailed
from crm.firms.schemas import FirmCreate, FirmUpdate
from crm.firms.service import update_firm
from crm.i18n import validation_message
from crm.models.accounts import User
from crm.models.activities import Activity
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.policy.pack import parse_pack
from crm.projects.reads import to_public
from crm.projects.schemas import CapitalArrivalCreate, ProjectCreate, ProjectUpdate
from crm.projects.service import create_project
from crm.types import utcnow
from tests.factories import make_department, make_firm, make_project, make_user


def _refusal(model, **values) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """(field, Chinese message, English message) of the one error ``values`` give."""
    with pytest.raises(ValidationError) as err:
        model(**values)
    (e,) = err.value.errors()
    msg = validation_message(e)
    return str(e["loc"][0]), msg.render("zh_CN"), msg.render("en")


def test_amounts_zero_and_too_large_are_named_clearly():
    day = today_local().isoformat()
    assert _refusal(CapitalArrivalCreate, amount="0", arrived_on=day) == (
        "amount",
        "必须大于 0",
        "Must be greater than 0",
    )
    for big in ("99999999999", "1e30"):
        assert _refusal(CapitalArrivalCreate, amount=big, arrived_on=day)[1:] == (
            "数字太大",
            "The number is too large",
        )
    assert _refusal(ProjectUpdate, version=1, planned_investment="1.123456")[2] == (
        "At most 4 decimal places"
    )


def test_minus_zero_is_stored_and_shown_as_zero(session):
    officer = make_user(session, "officer", make_department(session))
    firm = make_firm(session)
    p = create_project(
        session,
        officer,
        ProjectCreate(firm_id=firm.id, cluster="NB", planned_investment="-0.0"),
    )
    # as the API answers the change, and as read back
    assert to_public(session, p, officer).model_dump(mode="json")["planned_investment"] == "0.0000"
    session.commit()
    session.expire_all()
    shown = to_public(session, session.get(Project, p.id), officer).model_dump(mode="json")
    assert shown["planned_investment"] == "0.0000"


def test_what_already_happened_has_no_future_date():
    tomorrow = (today_local() + timedelta(days=1)).isoformat()
    for field in ("actual_sign_date", "actual_land_date", "actual_operate_date"):
        assert _refusal(ProjectUpdate, version=1, **{field: tomorrow})[0] == field
    assert _refusal(CapitalArrivalCreate, amount="1", arrived_on=tomorrow)[:2] == (
        "arrived_on",
        "到资日期不能晚于今天",
    )
    # what is expected may lie ahead, and today is not the future
    ProjectUpdate(version=1, expected_sign_date=tomorrow, actual_sign_date=today_local())


@pytest.mark.parametrize(
    "site",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "https://javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://example.com",
        "not a website",
        "https://",
    ],
)
def test_a_website_is_an_http_address_of_a_real_host(site):
    field, zh, _ = _refusal(FirmCreate, name_zh="网址测试", website=site)
    assert field == "website" and "javascript" not in zh


def test_a_website_without_its_scheme_is_completed():
    assert FirmCreate(name_zh="甲", website="www.hp.com").website == "https://www.hp.com"
    assert FirmCreate(name_zh="甲", website="http://hp.com:8080/x").website == (
        "http://hp.com:8080/x"
    )


@pytest.mark.parametrize("name", ["有限公司", "集团有限公司", "股份有限公司", "Co., Ltd.", "公司"])
def test_a_firm_is_not_named_only_by_its_company_form(name):
    assert _refusal(FirmCreate, name_zh=name)[0] == "name_zh"
    assert _refusal(FirmUpdate, name_zh=name, version=1)[0] == "name_zh"
    FirmCreate(name_zh="惠普有限公司")  # a name with its form is a name


def test_user_names_are_unique_whatever_their_case(session):
    make_user(session, "officer", make_department(session), username="Wang.Li")
    with pytest.raises(Conflict) as err:
        make_user(session, "officer", None, username="wang.li")
    assert err.value.field == "username"


def test_an_activity_links_only_its_firms_projects(session):
    dept = make_department(session)
    officer = make_user(session, "officer", dept)
    firm, other = make_firm(session), make_firm(session)
    theirs = make_project(session, other, "NB", owner=officer)
    session.commit()
    before = session.scalar(select(func.count()).select_from(Activity))
    with pytest.raises(ValidationFailed) as err:
        log_activity(
            session,
            officer,
            ActivityCreate(
                kind="call", summary="通话", firm_ids=[firm.id], project_ids=[theirs.id]
            ),
        )
    assert err.value.field == "project_ids"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Activity)) == before
    # its own firm's project: linked
    mine = make_project(session, firm, "NEV", owner=officer)
    session.commit()
    logged = log_activity(
        session,
        officer,
        ActivityCreate(kind="call", summary="通话", firm_ids=[firm.id], project_ids=[mine.id]),
    )
    assert logged.activity.id


def test_only_managers_change_the_tier_of_a_firm_nobody_owns(session):
    dept = make_department(session)
    officer, manager = make_user(session, "officer", dept), make_user(session, "manager", dept)
    firm = make_firm(session, "无人负责企业")  # like the policy pack's named firms
    session.commit()
    for field, value in (("global500_rank", 3), ("china500_rank", 7), ("is_leader", True)):
        with pytest.raises(PermissionDenied) as err:
            update_firm(
                session, officer, firm.id, FirmUpdate(version=firm.version, **{field: value})
            )
        assert err.value.field == field
        session.rollback()
    assert (firm.global500_rank, firm.china500_rank, firm.is_leader) == (None, None, False)
    # the rest of it stays everyone's to keep up to date; the tier is a manager's
    update_firm(session, officer, firm.id, FirmUpdate(version=firm.version, notes="已更新"))
    update_firm(session, manager, firm.id, FirmUpdate(version=firm.version, global500_rank=3))
    session.commit()
    assert (firm.notes, firm.tier) == ("已更新", "global500")
    # an officer's own firm: theirs to rank
    own = make_firm(session, "本人企业", owner_id=officer.id)
    session.commit()
    update_firm(session, officer, own.id, FirmUpdate(version=own.version, is_leader=True))
    assert own.tier == "leader"


def test_a_broken_policy_pack_is_named_by_line_and_column():
    with pytest.raises(ValidationFailed) as err:
        parse_pack("pack:\n  code: x\nclusters: [unclosed\n")
    assert err.value.field == "pack"
    en = err.value.message.render("en")
    assert "line 4, column 1" in en and "flow sequence" not in en and "expected" not in en
    assert "第 4 行第 1 列" in err.value.message.render("zh_CN")


def test_deactivating_a_user_who_holds_work_is_refused_like_the_pages(session):
    """The pages lead to the handover first; the API (the same service) refuses with the
    handover link — no open follow-up is left on an inactive user (SPEC §3)."""
    dept = make_department(session)
    admin = make_user(session, "admin")
    leaver = make_user(session, "officer", dept)
    session.add(
        Followup(
            title="未完成的跟进",
            due_at=utcnow() + timedelta(days=1),
            assignee_id=leaver.id,
            created_by_id=leaver.id,
        )
    )
    session.commit()
    with pytest.raises(Conflict) as err:
        update_user(session, admin, leaver.id, version=leaver.version, is_active=False)
    assert err.value.field == "is_active"
    assert f"/users/{leaver.id}/handover" in err.value.message.render("en")
    session.rollback()
    assert session.get(User, leaver.id).is_active
    # with nothing held, deactivation goes through
    idle = make_user(session, "officer", dept)
    session.commit()
    update_user(session, admin, idle.id, version=idle.version, is_active=False)
    assert not idle.is_active
