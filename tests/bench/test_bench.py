"""The benchmark at small scale, so it never rots: it runs end to end and reports every scenario
with figures or as missing. No time is asserted (performance is judged by `crm bench`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.harness import Options, run
from bench.scenarios import SCENARIOS, THROUGHPUT


def test_small_run_reports_every_scenario(tmp_path: Path) -> None:
    lines: list[str] = []
    server = os.environ.get("CRM_TEST_DATABASE_URL")  # PostgreSQL: a fresh database beside
    out = run(
        Options(
            scale="small",
            database_url=server,
            requests=3,
            warmup=1,
            concurrency=2,
            duration=0.5,
            json_path=str(tmp_path / "bench.json"),
            log=lines.append,
            mixed_clients=3,
            mixed_seconds=1.0,
            mixed_workers=(1, 2),
        )
    )

    by_name = {r["name"]: r for r in out["results"]}
    for sc in SCENARIOS:
        r = by_name[sc.name]
        assert r["status"] in ("ok", "missing"), (sc.name, r["status"], r["note"])
        if r["status"] == "ok":
            assert r["page"]["n"] == 3 and r["page"]["p95"] is not None, sc.name
            assert r["floor"]["p50"] is not None or not sc.floor, sc.name  # some have none
        else:
            assert r["note"], sc.name
    for name in THROUGHPUT:
        r = by_name[f"throughput: {name} x2"]
        assert r["status"] in ("ok", "missing"), r
        if r["status"] == "ok":
            assert r["extra"]["requests"] > 0
    # capacity: the mix on one web process and on two, answered, nothing failed
    for workers in (1, 2):
        r = by_name[f"mixed x3, {workers} web process{'es' if workers > 1 else ''}"]
        assert r["status"] == "ok", r["note"]
        assert r["extra"]["workers"] == workers and r["extra"]["requests"] > 0
        assert r["extra"]["failed"] == 0 and r["extra"]["rps"] > 0
    # the reminders and the import exist: a rename must fail here, not skip them silently
    for name in ("job: a day's reminders", "import: 500 firms (.xlsx)"):
        assert by_name[name]["status"] == "ok", by_name[name]
    # My day exists from the foundation on: it must have been measured
    assert by_name["web my day"]["status"] == "ok"

    meta = out["meta"]
    assert meta["cores"] and meta["python"] and meta["sqlite"] and meta["scale"] == "small"
    assert meta["load"]["counts"]["firm"] > 0
    assert meta["server_memory_kib"].get("VmHWM", 0) > 0
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert len(saved["results"]) == len(out["results"])
    report = "\n".join(lines)
    assert "scenario" in report and "web my day" in report and "budgets missed" in report


def test_mixed_workload_leaves_a_kept_database_as_it_was(tmp_path: Path) -> None:
    """The mix logs contacts and signs officers in: on a ``--reuse`` database it runs on a copy,
    removed afterwards, so every run measures the same data."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from bench.database import _drop_postgres, _postgres_exists

    server = os.environ.get("CRM_TEST_DATABASE_URL")
    if server:
        kept = make_url(server).set(database=f"{make_url(server).database}_kept")
        reuse = kept.render_as_string(hide_password=False)
        if _postgres_exists(reuse):
            _drop_postgres(reuse)
    else:
        reuse = str(tmp_path / "kept.db")
    url = reuse if server else f"sqlite:///{reuse}"
    tables = ("activity", "activity_firm", "audit_record", "web_session", "login_attempt")

    def counts() -> dict[str, int]:
        engine = create_engine(url)
        with engine.connect() as conn:
            out = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
        engine.dispose()
        return out

    lines: list[str] = []
    common = {"scale": "small", "reuse": reuse, "log": lines.append, "mixed_clients": 3}
    try:
        run(Options(**common, only="firm list", requests=1, warmup=0))  # builds the data
        before = counts()
        out = run(Options(**common, only="mixed", mixed_seconds=2.0, mixed_workers=(1,)))
        mixed = out["results"][0]["extra"]
        # its logins wrote sessions (and, time allowing, it logged contacts: ``writes``)
        assert mixed["failed"] == 0 and mixed["requests"] > 0
        assert counts() == before
        assert any("runs on a copy" in line for line in lines)
        if server:  # and the copy is gone
            assert not _postgres_exists(f"{reuse}_mix")
    finally:
        if server:
            _drop_postgres(reuse)


def test_the_database_servers_cpu_is_read_from_its_processes() -> None:
    """The mix's database CPU: PostgreSQL's server processes serving the database (named in
    their process title), read from /proc while a connection is open; nothing on SQLite."""
    from sqlalchemy import text

    from bench.capacity import database_cpu_seconds
    from bench.harness import _database_name
    from crm.db import get_engine

    engine = get_engine()
    name = _database_name(str(engine.url.render_as_string(hide_password=False)))
    if engine.dialect.name != "postgresql":
        assert name is None and database_cpu_seconds(name) is None
        return
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        conn.execute(text("SELECT count(*) FROM generate_series(1, 200000)")).scalar_one()
        found = database_cpu_seconds(name)
        if found is None or pid not in found:  # a server on another machine: nothing to read
            return
        assert found[pid] >= 0
        assert database_cpu_seconds(name + "_none") == {}


def test_against_times_a_second_checkout_or_database_in_the_same_moments(tmp_path: Path) -> None:
    """``--against``: a second checkout served beside the first; every page request goes to
    both (its figures beside the page's), and each mixed run is repeated on it first.
    ``--against-database``: the same checkout beside on another database holding the same data
    (PostgreSQL beside SQLite; here two SQLite files), the mix on a copy of each."""
    import sqlite3

    from bench.server import ROOT

    kept = tmp_path / "kept.db"
    other = tmp_path / "b" / "kept.db"  # the same file name: each gets its own copy for the mix
    other.parent.mkdir()
    lines: list[str] = []
    common: dict[str, Any] = {
        "scale": "small",
        "reuse": str(kept),
        "log": lines.append,
        "requests": 4,
        "warmup": 1,
        "concurrency": 2,
        "duration": 0.5,
        "mixed_clients": 2,
        "mixed_seconds": 1.0,
        "mixed_workers": (1,),
        "against_rounds": 1,
    }
    out = run(Options(**common, only="web my day,mixed", against=str(ROOT)))
    by_name = {r["name"]: r for r in out["results"]}
    day = by_name["web my day"]
    assert day["status"] == "ok" and day["page"]["n"] == 4
    vs = day["extra"]["against"]
    assert vs["n"] == 4 and vs["p50"] > 0 and vs["p95"] >= vs["p50"] and "failed" not in vs
    assert vs["p50_ratio"] == round(day["page"]["p50"] / vs["p50"], 2)
    runs = [r["name"] for r in out["results"] if r["name"].startswith("mixed")]
    assert runs == ["mixed x2, 1 web process (against), run 1", "mixed x2, 1 web process, run 1"]
    assert all(by_name[n]["extra"]["failed"] == 0 for n in runs)
    assert out["meta"]["against"]["app_root"] == str(ROOT)
    report = "\n".join(lines)
    assert "vs50" in report and f"against: {ROOT}" in report

    src, dst = sqlite3.connect(kept), sqlite3.connect(other)
    src.backup(dst)
    src.close()
    dst.close()

    def contacts() -> int:
        conn = sqlite3.connect(other)
        try:
            return int(conn.execute("SELECT count(*) FROM activity").fetchone()[0])
        finally:
            conn.close()

    before = contacts()
    out = run(Options(**common, only="web firm page,mixed", against_database=f"sqlite:///{other}"))
    page = next(r for r in out["results"] if r["name"] == "web firm page")
    assert page["status"] == "ok" and page["extra"]["against"]["n"] == 4
    mixed = [r for r in out["results"] if r["name"].startswith("mixed")]
    assert [r["name"] for r in mixed] == runs
    assert all(r["extra"]["failed"] == 0 and r["extra"]["requests"] > 0 for r in mixed)
    assert out["meta"]["against"]["database"].endswith("b/kept.db")
    assert contacts() == before  # the contacts the mix logged went to its copy
    assert "against_differs" not in out["meta"]["load"]

    # the other database answers errors: its figures are not given as a comparison
    conn = sqlite3.connect(other)
    conn.execute("ALTER TABLE activity_firm RENAME TO activity_firm_gone")
    conn.commit()
    conn.close()
    lines.clear()
    out = run(Options(**common, only="web firm page", against_database=f"sqlite:///{other}"))
    page = next(r for r in out["results"] if r["name"] == "web firm page")
    assert page["status"] == "ok" and "p50_ratio" not in page["extra"]["against"]
    assert page["extra"]["against"]["error"].startswith("HTTP 500")
    assert "[against: HTTP 500" in "\n".join(lines)
