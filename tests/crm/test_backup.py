"""Backups restore, and restores refuse to destroy: refused while the app runs, refused for an
empty, foreign, truncated or bit-flipped file with the database unchanged, atomic on success
with the replaced database kept. On SQLite, and on PostgreSQL with CRM_TEST_DATABASE_URL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from crm import migrate
from crm.backup import backup, checksum_file, head_revision, restore, verify
from crm.config import get_settings
from crm.db import reset_engine
from crm.dbuse import InUse
from crm.errors import ValidationFailed
from crm.models.firms import Firm
from tests.conftest import DATABASE_URL
from tests.factories import make_firm

PG = not DATABASE_URL.startswith("sqlite")


def _admin():
    return create_engine(
        make_url(DATABASE_URL).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )


def firm_names(url: str) -> set[str]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with Session(engine) as s:
            return set(s.scalars(select(Firm.name_zh)))
    finally:
        engine.dispose()


def add_firm(url: str, name: str) -> None:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with Session(engine) as s:
            make_firm(s, name)
            s.commit()
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """A migrated database holding one firm, and its backup."""
    tmp = tmp_path_factory.mktemp("backup")
    if PG:
        name = f"{make_url(DATABASE_URL).database}_o{uuid.uuid4().hex[:6]}"
        with _admin().connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp / 'origin.db'}"
    migrate.upgrade(url)
    add_firm(url, "备份前的企业")
    good = backup(url, tmp / ("good.dump" if PG else "good.db"))
    yield url, good
    if PG:
        with _admin().connect() as c:
            for (db,) in c.execute(
                text("select datname from pg_database where datname like :p"),
                {"p": make_url(url).database + "%"},
            ):
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


@pytest.fixture
def target(origin, tmp_path) -> Iterator[str]:
    """A copy of the origin database that then got one more firm (after the backup)."""
    url, _good = origin
    if PG:
        name = f"{make_url(url).database}_t{uuid.uuid4().hex[:6]}"
        with _admin().connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
        t_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    else:
        shutil.copy(make_url(url).database, tmp_path / "target.db")
        t_url = f"sqlite:///{tmp_path / 'target.db'}"
    add_firm(t_url, "备份后的企业")
    yield t_url
    if PG:
        with _admin().connect() as c:
            for (db,) in c.execute(
                text("select datname from pg_database where datname like :p"),
                {"p": make_url(t_url).database + "%"},
            ):
                c.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))


def test_restore_swaps_in_the_backup_and_keeps_the_replaced_database(origin, target):
    _url, good = origin
    assert checksum_file(good).exists()
    kept = restore(target, good)
    assert firm_names(target) == {"备份前的企业"}
    kept_url = (
        make_url(target).set(database=kept).render_as_string(hide_password=False)
        if PG
        else f"sqlite:///{kept}"
    )
    assert firm_names(kept_url) == {"备份前的企业", "备份后的企业"}
    if not PG:  # nothing of the swap is left beside the database
        left = sorted(p.name for p in Path(kept).parent.iterdir())
        assert not [n for n in left if "restoring" in n], left


def bad_files(good: Path, tmp: Path) -> dict[str, Path]:
    data = good.read_bytes()
    out = {}
    (tmp / "empty").write_bytes(b"")
    out["empty"] = tmp / "empty"
    foreign = tmp / ("foreign.dump" if PG else "foreign.db")
    if PG:
        foreign.write_bytes(b"PGDMP" + b"\x01" * 200)
    else:
        c = sqlite3.connect(foreign)
        c.execute("create table notes(id integer primary key, body text)")
        c.execute("insert into notes(body) values ('not a crm')")
        c.commit()
        c.close()
    out["foreign"] = foreign
    (tmp / "truncated").write_bytes(data[: len(data) // 2])
    out["truncated"] = tmp / "truncated"
    flipped = bytearray(data)
    flipped[len(flipped) * 2 // 3] ^= 0x10
    (tmp / "flipped").write_bytes(bytes(flipped))
    shutil.copy(checksum_file(good), checksum_file(tmp / "flipped"))
    out["bit-flipped"] = tmp / "flipped"
    (tmp / "text").write_text("hello")
    out["text"] = tmp / "text"
    return out


def test_refused_files_leave_the_database_unchanged(origin, target, tmp_path):
    _url, good = origin
    for name, path in bad_files(good, tmp_path).items():
        with pytest.raises(ValidationFailed) as exc:
            restore(target, path)
        assert "Traceback" not in exc.value.message, name
        assert firm_names(target) == {"备份前的企业", "备份后的企业"}, name


def test_a_foreign_sqlite_database_is_named_as_such(origin, tmp_path):
    if PG:
        pytest.skip("SQLite files")
    files = bad_files(origin[1], tmp_path)
    with pytest.raises(ValidationFailed, match="这不是CRM数据库") as e:
        verify(f"sqlite:///{tmp_path / 'x.db'}", files["foreign"])
    assert "Not a CRM database" in e.value.message.render("en")  # one language at a time
    with pytest.raises(ValidationFailed, match="备份文件是空的"):
        verify(f"sqlite:///{tmp_path / 'x.db'}", files["empty"])


def test_restore_is_refused_while_a_process_uses_the_database(origin, target):
    _url, good = origin
    held = InUse(target).acquire()  # what the app and `crm jobs` take for their life
    try:
        with pytest.raises(ValidationFailed, match="正在被使用") as e:
            restore(target, good)
        assert "in use" in e.value.message.render("en")
        assert firm_names(target) == {"备份前的企业", "备份后的企业"}
    finally:
        held.release()
    restore(target, good)  # once it stops, the restore goes ahead
    assert firm_names(target) == {"备份前的企业"}


def test_the_running_app_holds_the_lock(origin, session):
    """The real app (its lifespan) refuses a restore of its database while it runs."""
    from server.app import create_app

    make_firm(session, "运行中的企业")
    session.commit()
    _url, good = origin
    url = get_settings().database_url
    with TestClient(create_app()), pytest.raises(ValidationFailed, match="正在被使用"):
        restore(url, good)
    reset_engine()
    with Session(create_engine(url, poolclass=NullPool)) as s:
        assert s.scalar(select(func.count()).select_from(Firm)) == 1


def test_a_failed_pg_dump_leaves_no_file(tmp_path):
    if shutil.which("pg_dump") is None:
        pytest.skip("no pg_dump")
    target = tmp_path / "out.dump"
    with pytest.raises(ValidationFailed, match="pg_dump"):
        backup("postgresql+psycopg://nobody@127.0.0.1:1/none", target)
    assert list(tmp_path.iterdir()) == []


def test_verify_a_backup(origin):
    """The migration the backup is at is read from the file itself, a pg_dump file too
    (ATTACK7 P1-2: "migration -")."""
    url, good = origin
    checked = verify(url, good)
    assert checked.checksum
    assert checked.revision == head_revision()


def test_nightly_backup_keeps_the_newest_and_records_its_run(session, tmp_path, monkeypatch):
    """The scheduled job: a whole backup in backup_dir, the oldest beyond backup_keep removed,
    and its result in job_run (what the admin overview shows)."""
    from crm.models.outbox import JobRun
    from jobs.tasks import nightly_backup

    folder = tmp_path / "nightly"
    folder.mkdir()
    ext = "dump" if PG else "db"
    for day in ("20260101", "20260102", "20260103"):
        (folder / f"crm-{day}-023000.{ext}").write_bytes(b"old")
        (folder / f"crm-{day}-023000.{ext}.sha256").write_text("x")
    monkeypatch.setenv("CRM_BACKUP_DIR", str(folder))
    monkeypatch.setenv("CRM_BACKUP_KEEP", "2")
    get_settings.cache_clear()
    try:
        detail = nightly_backup()
    finally:
        monkeypatch.delenv("CRM_BACKUP_DIR")
        monkeypatch.delenv("CRM_BACKUP_KEEP")
        get_settings.cache_clear()
    kept = sorted(p.name for p in folder.glob(f"crm-*.{ext}"))
    assert len(kept) == 2 and kept[0] == f"crm-20260103-023000.{ext}"
    assert not (folder / f"crm-20260101-023000.{ext}.sha256").exists()
    newest = folder / kept[1]
    assert verify(get_settings().database_url, newest).checksum
    run = session.scalar(select(JobRun).where(JobRun.job == "nightly_backup"))
    assert run.status == "ok" and newest.name in run.detail and "2 old removed" in detail


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


TAMPERED = {
    # a table gone (My day, follow-ups and reminders would fail)
    "dropped table": ("drop table followup", ["缺少数据表 followup", "table followup missing"]),
    # a column gone (every project read would fail)
    "dropped column": (
        "alter table project drop column notes",
        ["表 project 缺少列 notes", "table project lacks column notes"],
    ),
    # the audit trail's guard gone, and a record edited
    "dropped triggers": (
        "drop trigger audit_record_no_update; drop trigger audit_record_no_delete;"
        " update audit_record set action = 'x'",
        ["缺少触发器 audit_record_no_update", "trigger audit_record_no_update missing"],
    ),
    # a guard replaced by one that lets everything through
    "changed trigger": (
        "drop trigger audit_record_no_delete;"
        " create trigger audit_record_no_delete before delete on audit_record begin select 1; end",
        ["触发器 audit_record_no_delete 与迁移所建的不同", "differs from"],
    ),
    # a trigger the migrations never made (it would empty the firms on the next insert)
    "added trigger": (
        "create trigger evil after insert on project begin delete from firm; end",
        ["多出触发器 evil", "unexpected trigger evil"],
    ),
    # a CHECK replaced by one that lets everything through (ATTACK7 P3-3: PRAGMA table_info
    # does not show it)
    "changed check": (
        "pragma writable_schema = on; update sqlite_master set sql = replace(sql,"
        " 'CHECK (amount > 0)', 'CHECK (1)') where name = 'capital_arrival';"
        " pragma writable_schema = off",
        ["约束 capital_arrival 与迁移所建的不同", "differs from"],
    ),
    # a contact of a firm that is not there (written with the foreign keys off)
    "rows without their firm": (
        "pragma foreign_keys = off; insert into contact(firm_id, name, created_at, updated_at,"
        " version) values (999999, 'x', '2026-01-01', '2026-01-01', 1)",
        ["引用了不存在的记录", "missing"],
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_backup_whose_schema_is_not_its_migrations_is_refused(origin, target, tmp_path, case):
    """A file at a known migration whose schema is not that migration's (made by `crm backup`,
    then altered with sqlite3) is refused, naming what differs, and the database's bytes are
    left as they were."""
    if PG:
        pytest.skip("SQLite files")
    _url, good = origin
    sql, says = TAMPERED[case]
    bad = tmp_path / "tampered.db"
    shutil.copy(good, bad)
    c = sqlite3.connect(bad)
    c.executescript(sql)
    c.commit()
    c.close()
    db = Path(make_url(target).database or "")
    before = _sha(db)
    with pytest.raises(ValidationFailed) as exc:
        verify(target, bad)
    zh, en = exc.value.message.render("zh_CN"), exc.value.message.render("en")
    assert says[0] in zh and says[1] in en, (zh, en)
    with pytest.raises(ValidationFailed):
        restore(target, bad)
    assert _sha(db) == before
    assert firm_names(target) == {"备份前的企业", "备份后的企业"}


PG_TAMPERED = {
    # a table gone (My day, follow-ups and reminders would fail)
    "dropped table": (
        "drop table followup cascade",
        ["缺少数据表 followup", "table followup missing"],
    ),
    # a column gone (every project read would fail)
    "dropped column": (
        "alter table project drop column notes",
        ["表 project 缺少列 notes", "table project lacks column notes"],
    ),
    # the audit trail's guard gone, and a record edited
    "dropped triggers": (
        "drop trigger audit_record_no_change on audit_record;"
        " drop trigger audit_record_no_truncate on audit_record;"
        " update audit_record set action = 'x'",
        ["缺少触发器 audit_record_no_change", "trigger audit_record_no_change missing"],
    ),
    # the guard's function replaced by one that lets everything through
    "changed function": (
        "create or replace function audit_record_refuse() returns trigger language plpgsql"
        " as $$ begin return old; end $$",
        ["audit_record_refuse() 与迁移所建的不同", "differs from"],
    ),
    # a trigger the migrations never made
    "added trigger": (
        "create function evil() returns trigger language plpgsql as $$ begin delete from firm;"
        " return new; end $$; create trigger evil after insert on project"
        " for each statement execute function evil()",
        ["多出触发器 evil", "unexpected trigger evil"],
    ),
    # an index gone
    "dropped index": (
        "drop index ix_project_firm_cluster",
        ["缺少索引 ix_project_firm_cluster", "index ix_project_firm_cluster missing"],
    ),
    # ATTACK8 P1-1: a CHECK gone (any stage, a negative investment would be stored)
    "dropped check": (
        "alter table project drop constraint ck_project_stage",
        ["缺少约束 project.ck_project_stage", "constraint project.ck_project_stage missing"],
    ),
    # a foreign key gone (activities of a firm that is not there)
    "dropped foreign key": (
        "alter table activity_firm drop constraint activity_firm_firm_id_fkey",
        [
            "缺少约束 activity_firm.activity_firm_firm_id_fkey",
            "constraint activity_firm.activity_firm_firm_id_fkey missing",
        ],
    ),
    # a CHECK that lets everything through under the same name
    "changed check": (
        "alter table project drop constraint ck_inv;"
        " alter table project add constraint ck_inv check (true)",
        ["约束 project.ck_inv 与迁移所建的不同", "constraint project.ck_inv differs"],
    ),
    # money (stored as exact integers of 万元) as a binary float (SPEC §7: exact decimals)
    "changed column type": (
        "alter table project alter column planned_investment type double precision",
        [
            "列 project.planned_investment 的类型是 double precision，迁移所建的是 bigint",
            "column project.planned_investment is double precision, its migration makes bigint",
        ],
    ),
    # a default changed
    "changed default": (
        "alter table cluster alter column version set default 7",
        ["列 cluster.version 的默认值不同", "column cluster.version: its default differs"],
    ),
    # ATTACK9 P2-3: a rule that swallows every audit row (after it nobody can log in)
    "added rule": (
        "create rule r_evil as on insert to audit_record do instead nothing",
        ["多出重写规则 audit_record.r_evil", "unexpected rewrite rule audit_record.r_evil"],
    ),
    # row-level security switched on with a deny-all policy (every project would vanish)
    "row-level security": (
        "alter table project enable row level security;"
        " alter table project force row level security;"
        " create policy p_none on project using (false)",
        ["多出行级安全策略 project.p_none", "unexpected row-level security policy project.p_none"],
    ),
    # a firm name compared and sorted under another collation
    "changed collation": (
        'alter table firm alter column name_zh type varchar(200) collate "C"',
        ["多出列排序规则 firm.name_zh", "unexpected column collation firm.name_zh"],
    ),
    # a table made to inherit another
    "added inheritance": (
        "create table evil_parent (); alter table cluster inherit evil_parent",
        ["多出表继承", "unexpected table inheritance"],
    ),
    # an event trigger (runs on every later DDL, a migration's too)
    "added event trigger": (
        "create function evil_ddl() returns event_trigger language plpgsql as $$ begin end $$;"
        " create event trigger et_evil on ddl_command_start execute function evil_ddl()",
        ["多出事件触发器 et_evil", "unexpected event trigger et_evil"],
    ),
    # a sequence set back below its table's ids: every new firm would be a duplicate key
    "sequence set back": (
        "select setval('firm_id_seq', 1, false)",
        ["序列 firm_id_seq 落后于表 firm", "sequence firm_id_seq is behind table firm"],
    ),
}


@pytest.mark.parametrize("case", sorted(PG_TAMPERED))
def test_a_pg_dump_whose_schema_is_not_its_migrations_is_refused(origin, target, tmp_path, case):
    """ATTACK7 P1-2: a pg_dump at a known migration whose schema is not that migration's (the
    good backup restored, altered with SQL, dumped again) is refused before the swap, naming
    what differs; the target database keeps its rows and no scratch database is left."""
    if not PG:
        pytest.skip("pg_dump files")
    url, _good = origin
    sql, says = PG_TAMPERED[case]
    name = f"{make_url(url).database}_x{uuid.uuid4().hex[:6]}"
    with _admin().connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}"'))
    x_url = make_url(url).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(x_url, poolclass=NullPool)
    try:
        with engine.begin() as c:
            c.exec_driver_sql(sql)
    finally:
        engine.dispose()
    bad = backup(x_url, tmp_path / "tampered.dump")
    with pytest.raises(ValidationFailed) as exc:
        restore(target, bad)
    zh, en = exc.value.message.render("zh_CN"), exc.value.message.render("en")
    assert says[0] in zh and says[1] in en, (zh, en)
    assert firm_names(target) == {"备份前的企业", "备份后的企业"}
    with _admin().connect() as c:
        left = c.execute(
            text("select datname from pg_database where datname like :p or datname like :q"),
            {"p": make_url(target).database + "_%", "q": f"crm_schema_{os.getpid()}_%"},
        ).all()
    assert left == []


def test_a_good_backup_restores_after_the_schema_check(origin, target, tmp_path):
    """The same file copied untouched (no .sha256 beside it) passes the schema check."""
    if PG:
        pytest.skip("SQLite files")
    copy = tmp_path / "copy.db"
    shutil.copy(origin[1], copy)
    assert verify(target, copy).revision
    restore(target, copy)
    assert firm_names(target) == {"备份前的企业"}


def test_a_directory_is_not_a_backup(origin, tmp_path):
    from typer.testing import CliRunner

    from cli.main import app

    with pytest.raises(ValidationFailed) as exc:
        verify(origin[0], tmp_path)
    assert "不是一个文件" in exc.value.message.render("zh_CN")
    out = CliRunner().invoke(app, ["restore", str(tmp_path), "--yes"])
    assert out.exit_code == 1
    assert out.exception is None or isinstance(out.exception, SystemExit), out.exception
    assert "Traceback" not in out.output and str(tmp_path) in out.output


def test_a_backup_from_before_the_last_upgrade_is_brought_up_to_date(target, tmp_path):
    """ATTACK7 P2-9: a backup at an earlier migration (yesterday's nightly one, before today's
    upgrade) is migrated to the code's head in the scratch copy before the swap — the running
    code never meets the old schema."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    previous = script.get_revision(head_revision()).down_revision
    if PG:  # the PostgreSQL step (ATTACK7 P2-9's fix: the scratch database migrated to head)
        name = f"{make_url(DATABASE_URL).database}_old{uuid.uuid4().hex[:6]}"
        with _admin().connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        old = make_url(DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    else:
        old = f"sqlite:///{tmp_path / 'old.db'}"
    try:
        migrate.upgrade(old, previous)
        add_firm(old, "升级前的企业")
        bk = backup(old, tmp_path / ("old_bk.dump" if PG else "old_bk.db"))
    finally:
        if PG:
            with _admin().connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert verify(target, bk).revision == previous
    restore(target, bk)
    engine = create_engine(target, poolclass=NullPool)
    try:
        with engine.connect() as c:
            assert c.execute(text("select version_num from alembic_version")).scalar() == (
                head_revision()
            )
    finally:
        engine.dispose()
    assert firm_names(target) == {"升级前的企业"}


def test_a_restore_drops_the_half_restored_copy_a_killed_one_left(origin, target):
    """ATTACK9 P3-20: a restore killed mid-way (SIGKILL, a lost machine) leaves its
    ``_restoring_`` copy; the next restore of that database drops it (it holds the restore lock,
    so no other restore is running) and restores as usual."""
    if not PG:
        pytest.skip("PostgreSQL databases")
    leftover = f"{make_url(target).database}_restoring_20260101000000"[:63]
    with _admin().connect() as c:
        c.execute(text(f'CREATE DATABASE "{leftover}"'))
    restore(target, origin[1])
    assert firm_names(target) == {"备份前的企业"}
    with _admin().connect() as c:
        left = c.execute(
            text("select datname from pg_database where datname = :n"), {"n": leftover}
        ).all()
    assert left == []
