"""The CRM's closed vocabularies, each written once (kernel: imports nothing from ``crm/``).

Every other spelling derives from these: the database CHECKs (``check``), the API's types
(``literal``), the pages' options, and the named groups below (active, pursuing, secured …).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal


class Stage(StrEnum):
    """A project's stage (SPEC §4), in pipeline order; ``lost`` is outside the order."""

    lead = "lead"
    contacted = "contacted"
    negotiating = "negotiating"
    signed = "signed"
    landed = "landed"
    operating = "operating"
    lost = "lost"


class ActivityKind(StrEnum):
    visit = "visit"
    call = "call"
    meeting = "meeting"
    email = "email"
    delegation = "delegation"
    site_visit = "site_visit"
    signing = "signing"
    other = "other"


class Tier(StrEnum):
    """A firm's tier (SPEC §3), highest first."""

    global500 = "global500"
    china500 = "china500"
    leader = "leader"
    other = "other"


class FollowupStatus(StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


def values(members: Iterable[StrEnum]) -> tuple[str, ...]:
    return tuple(m.value for m in members)


# --- named groups of stages -----------------------------------------------------------------

ACTIVE_STAGES: tuple[str, ...] = values(s for s in Stage if s is not Stage.lost)
STAGE_ORDER: list[str] = list(ACTIVE_STAGES)
STAGE_RANK: dict[str, int] = {s: i for i, s in enumerate(ACTIVE_STAGES)}


def furthest(reached: str | None, stage: str) -> str | None:
    """The furthest active stage of the two: what a project has reached once it is at
    ``stage`` (lost reaches nothing; a move back keeps what was reached)."""
    if stage not in STAGE_RANK:
        return reached
    if reached is None or STAGE_RANK[stage] > STAGE_RANK.get(reached, -1):
        return stage
    return reached


PURSUING_STAGES: tuple[str, ...] = values((Stage.lead, Stage.contacted, Stage.negotiating))
SECURED_STAGES: tuple[str, ...] = values((Stage.signed, Stage.landed, Stage.operating))
# 在谈及以上: negotiating or further (coverage counts a pursued pair from here)
ADVANCED_STAGES: tuple[str, ...] = values(
    (Stage.negotiating, Stage.signed, Stage.landed, Stage.operating)
)
LANDED_STAGES: tuple[str, ...] = values((Stage.landed, Stage.operating))
# a project stalls (the weekly digest's "stale" list) while it is pursued or signed, not yet built
STALE_STAGES: tuple[str, ...] = (*PURSUING_STAGES, Stage.signed.value)
MAJOR_TIERS: tuple[str, ...] = values((Tier.global500, Tier.china500, Tier.leader))


def check(column: str, allowed: Iterable[str]) -> str:
    """The SQL of a CHECK constraint: ``column in ('a','b',…)``."""
    return f"{column} in ({','.join(repr(str(v)) for v in allowed)})"


def literal(allowed: Iterable[str]) -> Any:
    """``Literal["a", "b", …]`` for pydantic and FastAPI (the same OpenAPI as a written-out
    Literal). Type checkers see ``str`` where this is used (see the ``TYPE_CHECKING`` aliases)."""
    return Literal[tuple(str(v) for v in allowed)]


# --- the API's types (pydantic / FastAPI see Literals of the values; type checkers see str) -----

if TYPE_CHECKING:
    StageName = str
    ActiveStageName = str
    ActivityKindName = str
    TierName = str
    FollowupStatusName = str
else:
    StageName = literal(values(Stage))
    ActiveStageName = literal(ACTIVE_STAGES)
    ActivityKindName = literal(values(ActivityKind))
    TierName = literal(values(Tier))
    FollowupStatusName = literal(values(FollowupStatus))
