"""``crm import``: the file becomes an import run like an upload (in the history, with its
report and rejected rows), imported in the command's process with its progress shown."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from crm.imports import run_report, runs
from crm.models.firms import Firm
from crm.models.imports import ImportRun
from tests.factories import make_department, make_user

BODY = "企业名称,产业集群\n甲电子,NB\n乙电子,NOPE\n丙电子,NB\n"


def _invoke(*args: str):
    from cli.main import app

    return CliRunner().invoke(app, ["import", *args])


def test_the_cli_imports_through_a_run_in_the_history(session, tmp_path):
    mgr = make_user(session, "manager", make_department(session))
    session.commit()
    f = tmp_path / "firms.csv"
    f.write_text(BODY, encoding="utf-8")
    out = _invoke("firms", str(f), "--as", mgr.username)
    assert out.exit_code == 1, out.output  # a rejected row, all or nothing: nothing imported
    assert "row 3: 产业集群: 未知产业集群：NOPE" in out.output
    assert "NOT imported" in out.output
    out = _invoke("firms", str(f), "--as", mgr.username, "--skip-invalid")
    assert out.exit_code == 0, out.output
    assert "2 imported" in out.output
    assert "importing" in out.output  # its progress (on stderr, mixed in by the runner)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Firm)) == 2
    items, total = runs.history(session, mgr)
    assert total == 2
    assert [(i["status"], i["mode"], i["imported"], i["rejected"]) for i in items] == [
        ("done", "skip", 2, 1),
        ("done", "all", 0, 1),
    ]
    # the same report as the page's: the rejected row as .xlsx
    run = session.get(ImportRun, items[0]["id"])
    assert run_report.rejected_workbook(run, "zh")[:2] == b"PK"
    # again: the same firms, written the same way, change nothing
    out = _invoke("firms", str(f), "--as", mgr.username, "--skip-invalid")
    assert out.exit_code == 0, out.output
    assert "0 imported, 2 unchanged" in out.output


def test_a_refused_file_says_why(session, tmp_path):
    mgr = make_user(session, "manager", make_department(session))
    session.commit()
    f = tmp_path / "firms.xlsx"
    f.write_bytes(b"not a zip")
    out = _invoke("firms", str(f), "--as", mgr.username)
    assert out.exit_code == 1
    assert "Excel" in out.output
