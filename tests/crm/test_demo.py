"""The demo-data generator: counts, determinism, realism and consistency at the small scale."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from crm.accounts.passwords import verify_password
from crm.db import make_engine
from crm.demo import DEMO_PASSWORD, SCALES, demo_login, generate
from crm.firms import search_index
from crm.models.accounts import User
from crm.models.activities import Activity, ActivityProject
from crm.models.firms import Firm, FirmAlias, derive_tier
from crm.models.followups import Followup
from crm.models.policy import ChainLink, Cluster, Park, ParkCluster
from crm.models.projects import Project, StageChange
from crm.policy.pack import DEFAULT_PACK, Pack, parse_pack
from crm.text import normalize_name, search_blob, to_pinyin

ROOT = Path(__file__).resolve().parents[2]
ANCHOR = date(2026, 11, 25)
FAKE_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"


def _load_policy(engine: Engine, pack: Pack) -> None:
    try:
        from crm.policy.service import load_pack
    except ImportError:  # pragma: no cover - only before the policy service existed
        load_pack = None
    if load_pack is not None:
        with Session(engine) as s:
            load_pack(s, pack)
            s.commit()
        return
    with engine.begin() as conn:  # pragma: no cover - the minimal rows the generator needs
        ids: dict[str, int] = {}
        for i, c in enumerate(pack.clusters, 1):
            ids[c.code] = i
            conn.execute(
                insert(Cluster.__table__),
                [
                    {
                        "id": i,
                        "code": c.code,
                        "name_zh": c.name_zh,
                        "name_en": c.name_en,
                        "kind": c.kind,
                        "target_2015": c.target_2015,
                        "sort_order": i,
                    }
                ],
            )
            conn.execute(
                insert(ChainLink.__table__),
                [
                    {
                        "cluster_id": i,
                        "code": x.code,
                        "name_zh": x.name_zh,
                        "name_en": x.name_en,
                        "sort_order": j,
                    }
                    for j, x in enumerate(c.links)
                ]
                or None,
            )
        for i, p in enumerate(pack.parks, 1):
            conn.execute(
                insert(Park.__table__),
                [
                    {
                        "id": i,
                        "code": p.code,
                        "name_zh": p.name_zh,
                        "name_en": p.name_en,
                        "tier": p.tier,
                        "sort_order": i,
                    }
                ],
            )
            for c in p.clusters:
                conn.execute(insert(ParkCluster.__table__), [{"park_id": i, "cluster_id": ids[c]}])


def _fresh_db(path: Path) -> Engine:
    url = f"sqlite:///{path}"
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["url"] = url
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "head")
    engine = make_engine(url)
    _load_policy(engine, parse_pack(DEFAULT_PACK.read_text(encoding="utf-8")))
    return engine


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, int]]]:
    engine = _fresh_db(tmp_path_factory.mktemp("demo") / "small.db")
    counts = generate(engine, "small", seed=42, anchor=ANCHOR)  # hashes the real password
    yield engine, counts
    engine.dispose()


def _digest(engine: Engine) -> str:
    h = hashlib.sha256()
    with engine.connect() as conn:
        for stmt in (
            select(
                Firm.id,
                Firm.name_zh,
                Firm.name_en,
                Firm.name_norm,
                Firm.name_pinyin,
                Firm.tier,
                Firm.country,
                Firm.global500_rank,
                Firm.china500_rank,
                Firm.credit_code,
                Firm.parent_id,
                Firm.owner_id,
                Firm.created_at,
                Firm.search_text,
            )
            .where(Firm.source == "demo")
            .order_by(Firm.id),
            select(Project.__table__).order_by(Project.id),
            select(StageChange.__table__).order_by(StageChange.id),
            select(Activity.id, Activity.kind, Activity.occurred_at, Activity.summary).order_by(
                Activity.id
            ),
            select(Followup.__table__).order_by(Followup.id),
        ):
            for row in conn.execute(stmt):
                h.update(repr(tuple(row)).encode())
    return h.hexdigest()


def test_small_counts_match_the_promise(small: tuple[Engine, dict[str, int]]) -> None:
    engine, counts = small
    sc = SCALES["small"]
    assert counts["firm"] == sc.firms == 300
    assert counts["contact"] == sc.contacts == 600
    assert counts["project"] == sc.projects == 400
    assert counts["activity"] == sc.activities == 5_000
    assert counts["followup"] == sc.followups == 1_500
    assert counts["user_account"] == sc.users == 12
    assert counts["department"] == sc.departments == 4
    assert counts["activity_firm"] >= counts["activity"]
    assert counts["activity_officer"] >= counts["activity"]
    with engine.connect() as conn:
        for table in (
            "project",
            "contact",
            "activity",
            "followup",
            "stage_change",
            "activity_firm",
            "activity_project",
            "activity_officer",
            "firm_alias",
        ):
            n = conn.exec_driver_sql(f"select count(*) from {table}").scalar()
            assert n >= counts[table], table
        assert conn.scalar(select(func.count()).where(Firm.source == "demo")) == 300
        # the pack's named firms got projects too
        assert (
            conn.scalar(
                select(func.count(func.distinct(Project.firm_id)))
                .join(Firm, Firm.id == Project.firm_id)
                .where(Firm.source == "pack")
            )
            >= 10
        )
        # loaded with the per-row checks off, so check every foreign key now
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        roles = dict(conn.execute(select(User.role, func.count()).group_by(User.role)).all())
        assert roles["admin"] == 1 and roles["manager"] >= 2 and roles["officer"] >= 6


def test_same_seed_same_data_other_seed_other_data(
    tmp_path: Path, small: tuple[Engine, dict[str, int]]
) -> None:
    a = _fresh_db(tmp_path / "a.db")
    b = _fresh_db(tmp_path / "b.db")
    try:
        generate(a, "small", seed=42, anchor=ANCHOR, password_hash=FAKE_HASH)
        with Session(b) as s:  # the Session path: runs in the caller's transaction
            generate(s, "small", seed=7, anchor=ANCHOR, password_hash=FAKE_HASH)
            s.commit()
        assert _digest(a) == _digest(small[0])
        assert _digest(a) != _digest(b)
    finally:
        a.dispose()
        b.dispose()


def test_tiers_names_and_pinyin(small: tuple[Engine, dict[str, int]]) -> None:
    engine, _ = small
    with Session(engine) as s:
        firms = list(s.scalars(select(Firm).where(Firm.source == "demo").order_by(Firm.id)))
        aliases: dict[int, list[str]] = {}
        for fid, alias in s.execute(
            select(FirmAlias.firm_id, FirmAlias.alias).order_by(FirmAlias.id)
        ):
            aliases.setdefault(fid, []).append(alias)
        norms = list(s.scalars(select(Firm.name_norm)))
    assert len(norms) == len(set(norms))
    assert {f.tier for f in firms} == {"global500", "china500", "leader", "other"}
    assert sum(f.tier == "other" for f in firms) > len(firms) / 2
    assert any(f.parent_id for f in firms) and aliases
    assert any(f.country not in ("中国", None) for f in firms)
    assert any(f.name_en and f.name_en.endswith("Co., Ltd.") for f in firms)
    # every firm (the loader computes names in bulk): what crm.text gives for it
    for f in firms:
        assert f.name_norm == normalize_name(f.name_zh)
        assert (f.name_pinyin, f.name_initials) == to_pinyin(f.name_zh)
        assert f.search_text == search_blob([f.name_zh, f.name_en, *aliases.get(f.id, [])])
        assert f.tier == derive_tier(f.global500_rank, f.china500_rank, f.is_leader)
        assert f.global500_rank is None or 1 <= f.global500_rank <= 500
        assert f.created_at.tzinfo is not None


def test_every_stage_history_ends_at_the_stage(small: tuple[Engine, dict[str, int]]) -> None:
    engine, _ = small
    with engine.connect() as conn:
        projects = {r.id: r for r in conn.execute(select(Project.__table__))}
        hist: dict[int, list] = {}
        for r in conn.execute(
            select(StageChange.__table__).order_by(
                StageChange.project_id, StageChange.changed_at, StageChange.id
            )
        ):
            hist.setdefault(r.project_id, []).append(r)
    stages = {p.stage for p in projects.values()}
    assert {"lead", "contacted", "negotiating", "signed", "landed", "operating", "lost"} <= stages
    lost = sum(p.stage == "lost" for p in projects.values())
    assert 0.04 * len(projects) < lost < 0.2 * len(projects)
    # reports name a confidential project by its code name alone: no two share one
    code_names = [p.code_name for p in projects.values() if p.code_name]
    assert code_names and len(code_names) == len(set(code_names))
    for pid, p in projects.items():
        h = hist[pid]
        assert h[0].from_stage is None and h[0].to_stage == "lead"
        assert h[-1].to_stage == p.stage
        assert h[-1].changed_at == p.stage_changed_at
        assert h[0].changed_at == p.created_at
        for prev, cur in pairwise(h):
            assert cur.from_stage == prev.to_stage
        if p.stage == "lost":
            assert p.lost_reason and h[-1].reason == p.lost_reason
        if p.stage in ("signed", "landed", "operating"):
            assert p.actual_sign_date is not None
        if p.is_confidential:
            assert p.code_name
        assert p.planned_investment is None or p.planned_investment > 0


def test_project_contact_times_match_activities(small: tuple[Engine, dict[str, int]]) -> None:
    engine, _ = small
    now = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    with engine.connect() as conn:
        span = {
            pid: (lo, hi)
            for pid, lo, hi in conn.execute(
                select(
                    ActivityProject.project_id,
                    func.min(Activity.occurred_at),
                    func.max(Activity.occurred_at),
                )
                .join(Activity, Activity.id == ActivityProject.activity_id)
                .group_by(ActivityProject.project_id)
            )
        }
        rows = list(
            conn.execute(
                select(
                    Project.id,
                    Project.stage,
                    Project.first_contact_at,
                    Project.last_activity_at,
                    Project.created_at,
                    Project.owner_id,
                    Project.department_id,
                )
            )
        )
        dept = dict(conn.execute(select(User.id, User.department_id)).all())
        latest = conn.scalar(select(func.max(Activity.occurred_at)))
    assert latest < now
    for pid, stage, first, last, created, owner, department in rows:
        assert dept[owner] == department
        if pid in span:
            assert (first, last) == span[pid]
            assert created <= first
        else:
            assert first is None and last is None and stage in ("lead", "lost")


def test_followups_are_spread_around_the_anchor(small: tuple[Engine, dict[str, int]]) -> None:
    engine, _ = small
    start = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)  # the anchor day, Asia/Shanghai
    end = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                select(
                    Followup.status,
                    Followup.due_at,
                    Followup.remind_at,
                    Followup.completed_at,
                    Followup.created_at,
                )
            )
        )
    status = [r.status for r in rows]
    assert status.count("done") > len(rows) / 2
    open_ = [r for r in rows if r.status == "open"]
    assert 0.05 * len(rows) < len(open_) < 0.35 * len(rows)
    assert any(r.due_at < start for r in open_)
    assert any(start <= r.due_at < end for r in open_)
    assert any(r.due_at >= end for r in open_)
    assert any(r.remind_at is not None for r in open_)
    for r in rows:
        assert r.created_at < end
        if r.status == "done":
            assert r.completed_at is not None and r.created_at <= r.completed_at < end


def test_demo_users_log_in_and_a_second_load_is_refused(
    small: tuple[Engine, dict[str, int]],
) -> None:
    engine, _ = small
    names = [u for u, _, _ in demo_login()]
    with engine.connect() as conn:
        hashes = dict(
            conn.execute(
                select(User.username, User.password_hash).where(User.username.in_(names))
            ).all()
        )
        assert len(set(conn.scalars(select(User.password_hash)))) == 1  # hashed once
    assert set(hashes) == set(names)
    assert verify_password(hashes["officer001"], DEMO_PASSWORD)
    with pytest.raises(RuntimeError, match="already loaded"):
        generate(engine, "small", seed=1, anchor=ANCHOR, password_hash=FAKE_HASH)


def test_demo_holds_one_conflict_pair(small: tuple[Engine, dict[str, int]]) -> None:
    """The demo shows a 撞单: two departments' active projects for the same firm and cluster,
    each pointing at the other; the project page and board show the flag."""
    engine, _ = small
    with Session(engine) as s:
        flagged = list(
            s.scalars(
                select(Project)
                .where(Project.conflict_with_id.is_not(None))
                .order_by(Project.created_at)
            )
        )
        assert len(flagged) == 2
        a, b = flagged
        assert (a.conflict_with_id, b.conflict_with_id) == (b.id, a.id)
        assert (a.firm_id, a.cluster_id) == (b.firm_id, b.cluster_id)
        assert a.department_id != b.department_id
        assert {a.stage, b.stage} <= {"lead", "contacted", "negotiating"}
        assert s.get(Firm, a.firm_id).tier == "global500"


def test_contacts_summary_matches_the_activities(small: tuple[Engine, dict[str, int]]) -> None:
    """The demo loader writes activities through Core, then fills activity_officer_week with
    every closed week (the open one is counted live)."""
    from crm.clock import today_local, week_of, week_start
    from crm.models.activities import ActivityOfficerWeek

    open_week = week_start(today_local())

    engine, _ = small
    with engine.connect() as conn:
        want: dict[tuple[object, int], int] = {}
        for by, at in conn.execute(select(Activity.created_by_id, Activity.created_at)):
            if by is not None and week_of(at) < open_week:
                want[(week_of(at), by)] = want.get((week_of(at), by), 0) + 1
        got = {
            (wk, u): n
            for wk, u, n in conn.execute(
                select(
                    ActivityOfficerWeek.week_start,
                    ActivityOfficerWeek.user_id,
                    ActivityOfficerWeek.contacts,
                )
            )
        }
    assert got == want and sum(got.values()) > 0


def test_done_summary_matches_the_followups(small: tuple[Engine, dict[str, int]]) -> None:
    from crm.clock import today_local, week_of, week_start
    from crm.models.followups import FollowupOfficerWeek

    open_week = week_start(today_local())

    engine, _ = small
    with engine.connect() as conn:
        want: dict[tuple[object, int], int] = {}
        for who, at in conn.execute(
            select(Followup.assignee_id, Followup.completed_at).where(Followup.status == "done")
        ):
            if week_of(at) < open_week:
                want[(week_of(at), who)] = want.get((week_of(at), who), 0) + 1
        got = {
            (wk, u): n
            for wk, u, n in conn.execute(
                select(
                    FollowupOfficerWeek.week_start,
                    FollowupOfficerWeek.user_id,
                    FollowupOfficerWeek.done,
                )
            )
        }
    assert got == want and sum(got.values()) > 0


def test_demo_coverage_shows_every_state(small: tuple[Engine, dict[str, int]]) -> None:
    """The demo's coverage report has something to say: one cluster only pursued by major
    investors, one where every major investor's project was lost (a gap), the rest covered."""
    from crm.models.accounts import User as U
    from crm.reports.coverage import coverage_report

    engine, _ = small
    with Session(engine) as s:
        manager = s.scalars(select(U).where(U.role == "manager")).first()
        statuses = {c.code: c.status for c in coverage_report(s, manager).clusters}
    assert statuses["INST"] == "pursuing"
    assert statuses["LIGHT"] == "gap"
    assert list(statuses.values()).count("covered") == 10


def test_the_firm_search_index_is_left_in_one_segment(small: tuple[Engine, dict[str, int]]) -> None:
    """The load's many index segments are merged at its end (the demo database is SQLite)."""
    engine, _ = small
    with engine.connect() as conn:
        assert search_index.segments(conn) == 1
