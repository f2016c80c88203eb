"""Import runs: stored, run by a worker one at a time, all or nothing per file — a fault in the
middle of the import (an error, or the process killed) leaves no row of it and the run marked
failed, to be run again; the rejected rows come back as .xlsx with a reason column."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select
from sqlmodel import Session

from crm.db import get_engine
from crm.errors import NotFound, ValidationFailed
from crm.imports import firm_writer, run_report, runs, worker
from crm.models.firms import Firm, FirmAlias
from crm.models.imports import ImportRun
from tests.factories import make_department, make_firm, make_user

ROOT = Path(__file__).resolve().parents[2]
BODY = "企业名称,别名,产业集群\n甲电子,甲,NB\n乙电子,,NOPE\n丙电子,丙丙,NB\n"


@pytest.fixture
def manager(session):
    u = make_user(session, "manager", make_department(session))
    session.commit()
    return u


def firm_count(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Firm)) or 0


def queue(session, user, body=BODY, mode="skip", name="firms.csv", kind="firms") -> int:
    data = body.encode() if isinstance(body, str) else body
    run = runs.create_run(session, user, kind, name, data, mode=mode)
    session.commit()
    assert run.status == "queued" and run.data == data
    return run.id


def status(session, run_id) -> ImportRun:
    session.expire_all()
    return session.get(ImportRun, run_id)


def test_a_run_imports_and_keeps_its_report(session, manager):
    run_id = queue(session, manager)
    assert runs.drain() == 1
    run = status(session, run_id)
    assert (run.status, run.applied, run.imported, run.rejected) == ("done", True, 2, 1)
    assert run.data is None  # the stored upload goes once the run is done
    rep = run_report.report_of(run)
    assert [(e.row, rep.column(e)) for e in rep.rejected] == [(3, "产业集群")]
    assert "NOPE" in str(rep.rejected[0].message)
    assert firm_count(session) == 2


def test_rejected_rows_as_xlsx_in_the_readers_language_import_again(session, manager):
    run_id = queue(session, manager, mode="check")
    runs.drain()
    run = status(session, run_id)
    assert run.status == "done" and not run.applied and firm_count(session) == 0
    for lang, reason in (("zh_CN", "未知产业集群：NOPE"), ("en", "NOPE")):
        ws = load_workbook(io.BytesIO(run_report.rejected_workbook(run, lang))).active
        rows = list(ws.iter_rows(values_only=True))
        assert rows[0][1:4] == ("企业名称", "别名", "产业集群")  # the file's own headers
        assert rows[1][:4] == (3, "乙电子", None, "NOPE") and len(rows) == 2
        assert reason in rows[1][4] and rows[1][4].startswith("产业集群")
    assert (
        "未知"
        not in load_workbook(io.BytesIO(run_report.rejected_workbook(run, "en"))).active["E2"].value
    )
    # fixed in Excel and imported again just as it is (the row and reason columns ignored)
    wb = load_workbook(io.BytesIO(run_report.rejected_workbook(run, "zh_CN")))
    wb.active["D2"] = "NB"
    buf = io.BytesIO()
    wb.save(buf)
    again = queue(session, manager, buf.getvalue(), mode="all", name="fixed.xlsx")
    runs.drain()
    run = status(session, again)
    assert (run.status, run.imported, run.rejected) == ("done", 1, 0), run.report
    assert set(session.scalars(select(Firm.name_zh))) == {"乙电子"}


def test_an_error_in_the_middle_of_the_import_leaves_nothing(session, manager, monkeypatch):
    """The firms are written, then writing their aliases fails: no firm stays, the run is
    failed with its file kept, and running it again imports the file."""
    real = firm_writer._insert_many

    def failing(s, table, rows):
        real(s, table, rows)
        if table.name == "firm_alias":
            raise RuntimeError("disk full")

    monkeypatch.setattr(firm_writer, "_insert_many", failing)
    run_id = queue(session, manager)
    runs.drain()
    run = status(session, run_id)
    assert run.status == "failed" and run.data and not run.applied
    assert "没有导入任何数据" in str(run_report.error_of(run))
    assert firm_count(session) == 0
    assert session.scalar(select(func.count()).select_from(FirmAlias)) == 0
    monkeypatch.setattr(firm_writer, "_insert_many", real)
    runs.retry(session, manager, run_id)
    session.commit()
    runs.drain()
    run = status(session, run_id)
    assert (run.status, run.imported) == ("done", 2)
    assert firm_count(session) == 2


KILLER = textwrap.dedent(
    """
    import os, signal
    from crm.imports import firm_writer, runs

    real = firm_writer._insert_many

    def killed(session, table, rows):
        real(session, table, rows)
        if table.name == "firm":  # the firms are written, nothing is committed yet
            session.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    firm_writer._insert_many = killed
    runs.execute(runs.claim_next())
    """
)


def test_a_process_killed_in_the_middle_leaves_the_run_failed_and_no_rows(
    session, manager, database
):
    run_id = queue(session, manager)
    env = {**os.environ, "CRM_DATABASE_URL": database}
    p = subprocess.run(
        [sys.executable, "-c", KILLER], cwd=ROOT, env=env, capture_output=True, timeout=300
    )
    assert p.returncode == -9, p.stderr.decode()[-2000:]
    run = status(session, run_id)
    assert run.status == "running"  # as the dead process left it
    assert firm_count(session) == 0
    assert runs.recover_stale(session) == 1
    session.commit()
    run = status(session, run_id)
    assert run.status == "failed" and run.data
    assert "服务器停止" in str(run_report.error_of(run))
    runs.retry(session, manager, run_id)
    session.commit()
    assert runs.drain() == 1
    assert status(session, run_id).status == "done" and firm_count(session) == 2


def _wait_for(session, run_id, states):
    for _ in range(3000):
        run = status(session, run_id)
        if run.status in states:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {run.status}")


def test_the_worker_is_a_process_of_its_own(session, manager):
    """kick() answers at once; a process other than this one claims and imports the run."""
    run_id = queue(session, manager)
    worker.kick()
    worker.wait_idle(300)
    run = status(session, run_id)
    assert (run.status, run.imported) == ("done", 2)
    pid = int(run.worker.rpartition(":")[2])
    assert pid != os.getpid()
    assert firm_count(session) == 2


def test_the_worker_process_killed_in_the_middle_leaves_no_rows(session, manager):
    body = "企业名称,别名\n" + "".join(f"进程导入企业{i},进程别名{i}\n" for i in range(40_000))
    run_id = queue(session, manager, body=body, mode="all")
    worker.kick()
    run = _wait_for(session, run_id, ("running", "done", "failed", "refused"))
    assert run.status == "running", run.status
    os.kill(int(run.worker.rpartition(":")[2]), signal.SIGKILL)
    worker.wait_idle(300)
    assert runs.recover_stale(session) == 1
    session.commit()
    run = status(session, run_id)
    assert run.status == "failed" and run.data
    assert firm_count(session) == 0
    assert session.scalar(select(func.count()).select_from(FirmAlias)) == 0


def test_one_run_at_a_time(session, manager):
    first, second = queue(session, manager), queue(session, manager, mode="check")
    assert runs.claim_next() == first
    assert runs.claim_next() is None  # the first still runs: the second waits its turn
    assert status(session, second).status == "queued"
    assert runs.recover_stale(session) == 0  # this process is alive: not stale
    runs.execute(first)
    assert runs.claim_next() == second
    runs.execute(second)
    assert [status(session, i).status for i in (first, second)] == ["done", "done"]


def test_a_refused_file_is_reported_not_failed(session, manager):
    run_id = queue(session, manager, b"\xff\xfe" + "企业名称".encode("utf-16-le"))
    runs.drain()
    run = status(session, run_id)
    assert run.status == "refused" and "UTF-16" in str(run_report.error_of(run))
    assert run.data is None


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("firms.exe", b"MZ", "file"),
        ("firms.xlsx", b"not a zip", "file"),
        ("firms.csv", b"", "file"),
        ("firms.csv", b"x" * (runs.MAX_UPLOAD + 1), "file"),
    ],
)
def test_uploads_checked_before_they_are_stored(session, manager, name, data, field):
    with pytest.raises(ValidationFailed) as e:
        runs.create_run(session, manager, "firms", name, data)
    assert e.value.field == field
    session.rollback()
    assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_officers_cannot_import(session):
    from crm.errors import PermissionDenied

    officer = make_user(session, "officer", make_department(session))
    with pytest.raises(PermissionDenied):
        runs.create_run(session, officer, "firms", "a.csv", b"x")


def test_history_lists_runs_latest_first(session, manager):
    a = queue(session, manager)
    b = queue(session, manager, mode="check", name="second.csv")
    runs.drain()
    items, total = runs.history(session, manager)
    assert total == 2 and [i["id"] for i in items] == [b, a]
    assert items[0]["filename"] == "second.csv" and items[0]["status"] == "done"
    assert (items[1]["imported"], items[1]["rejected"], items[1]["applied"]) == (2, 1, True)
    assert items[1]["username"] == manager.username
    _ = get_engine  # (the worker uses the app's engine, as the tests do)


def test_workbook_with_rows_not_imported(session, manager):
    wb = Workbook()
    ws = wb.active
    ws.append(["企业名称", "产业集群"])
    ws.append(["丁电子", "NB"])
    buf = io.BytesIO()
    wb.save(buf)
    run_id = queue(session, manager, buf.getvalue(), mode="all", name="f.xlsx")
    runs.drain()
    assert status(session, run_id).imported == 1 and firm_count(session) == 1


def test_a_negative_amount_is_a_row_error_not_a_failed_run(session, manager):
    """A number a bound refuses (-5 亿元) carries the bound (a Decimal) in its message: the
    report keeps it, the run does not fail."""
    make_firm(session, "惠普", clusters=("IC",))
    session.commit()
    body = "企业名称,项目名称,产业集群,计划投资（亿元）\n惠普,负数项目,IC,-5\n"
    run_id = queue(session, manager, body=body, name="projects.csv", kind="projects")
    assert runs.drain() == 1
    run = status(session, run_id)
    assert (run.status, run.imported, run.rejected) == ("done", 0, 1), run.error
    rep = run_report.report_of(run)
    assert [rep.column(e) for e in rep.rejected] == ["计划投资（亿元）"]
    assert "0" in str(rep.rejected[0].message)


def test_a_run_is_seen_by_its_importer_their_departments_managers_and_admins(session):
    """An import's report and rejected rows (they may hold confidential projects): another
    department's manager finds no such run (404) and does not list it."""
    a, b = make_department(session), make_department(session)
    importer = make_user(session, "manager", a)
    colleague = make_user(session, "manager", a)
    stranger = make_user(session, "manager", b)
    admin = make_user(session, "admin")
    run = ImportRun(user_id=importer.id, kind="projects", filename="p.csv", status="done")
    session.add(run)
    session.commit()
    for who in (importer, colleague, admin):
        assert runs.get_run(session, who, run.id).id == run.id
        assert [r["id"] for r in runs.history(session, who)[0]] == [run.id]
    with pytest.raises(NotFound):
        runs.get_run(session, stranger, run.id)
    with pytest.raises(NotFound):
        runs.retry(session, stranger, run.id)
    assert runs.history(session, stranger) == ([], 0)
