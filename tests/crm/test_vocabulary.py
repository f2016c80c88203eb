"""Each vocabulary is written once (crm/vocabulary.py); the CHECKs, API types and page options
are derived from it, so adding a member changes all of them."""

from __future__ import annotations

from typing import get_args

import pytest
from sqlalchemy import CheckConstraint

from crm.models.activities import Activity
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.projects.schemas import ActiveStage, AnyStage
from crm.vocabulary import (
    ACTIVE_STAGES,
    STAGE_RANK,
    STALE_STAGES,
    ActivityKind,
    FollowupStatus,
    Stage,
    Tier,
    TierName,
    values,
)


def _check_sql(model: type, name: str) -> str:
    table = model.__table__  # type: ignore[attr-defined]
    (ck,) = [c for c in table.constraints if isinstance(c, CheckConstraint) and c.name == name]
    return str(ck.sqltext)


@pytest.mark.parametrize(
    ("model", "name", "column", "enum"),
    [
        (Project, "ck_project_stage", "stage", Stage),
        (Activity, "ck_activity_kind", "kind", ActivityKind),
        (Firm, "ck_firm_tier", "tier", Tier),
        (Followup, "ck_followup_status", "status", FollowupStatus),
    ],
)
def test_the_database_checks_list_exactly_the_members(model, name, column, enum):
    sql = _check_sql(model, name)
    assert sql.startswith(f"{column} in (")
    listed = [v.strip().strip("'") for v in sql[sql.index("(") + 1 : -1].split(",")]
    assert listed == [m.value for m in enum]


def test_the_api_types_are_the_members():
    assert get_args(AnyStage) == values(Stage)
    assert get_args(ActiveStage) == ACTIVE_STAGES == tuple(s for s in values(Stage) if s != "lost")
    assert get_args(TierName) == values(Tier)


def test_the_named_groups_come_from_the_order():
    assert list(STAGE_RANK) == list(ACTIVE_STAGES)
    assert ACTIVE_STAGES[:4] == STALE_STAGES


def test_the_pages_offer_the_members():
    from web.firm_page import KINDS
    from web.firms import TIERS
    from web.followups import STATUSES

    assert values(Tier) == TIERS
    assert values(ActivityKind) == KINDS
    assert values(FollowupStatus) == STATUSES
