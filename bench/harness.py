"""The benchmark: build (or reuse) a database at a scale, serve the app as a user runs it, log in
and time every scenario of bench.scenarios against its raw-SQL floor.

Everything runs against its own database and its own engine: the process-wide settings and
engine (crm.db.get_engine) are never touched, so the test suite can run the harness in-process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.capacity import MixedResult, mixed_picks, run_mixed
from bench.database import (
    _drop_postgres,
    _is_sqlite,
    _loaded,
    _password,
    _safe,
    prepare_database,
    scratch_copy,
)
from bench.floor import Floor
from bench.jobs import firm_import, reminders
from bench.measure import Result, Stats, _context, measure_scenario, throughput
from bench.report import _ljust
from bench.scenarios import SCENARIOS, THROUGHPUT
from bench.server import ROOT, api_login, serve, web_login

OFFICER = "officer001"
MANAGER = "manager01"
IMPORT_ROWS = {"city": 50_000, "small": 500}


@dataclass
class Options:
    scale: str = "city"
    database_url: str | None = None  # a PostgreSQL server URL: a fresh database is made beside
    reuse: str | None = None  # an SQLite file (or PostgreSQL URL) kept between runs
    requests: int = 50
    warmup: int = 5
    concurrency: int = 8
    duration: float = 10.0
    scenario_seconds: float = 60.0  # a scenario stops early past this (at least 5 requests)
    json_path: str | None = None
    only: str | None = None  # run only scenarios whose name contains this (comma: any of these)
    password: str | None = None
    keep: bool = False
    log: Callable[[str], None] = print
    # capacity: the mixed officer workload, these clients for these seconds, on each of these
    # numbers of web processes (0 = one per core); --only mixed runs nothing else
    mixed_clients: int = 16
    mixed_seconds: float = 30.0
    mixed_workers: tuple[int, ...] = (1, 0)
    app_root: str | None = None  # serve another checkout of the app (before/after comparisons)
    # a second checkout served beside the first and timed in the same moments: each page request
    # goes to both in turn; each mixed run is repeated on it, alternating (before/after figures
    # on a machine whose speed moves within minutes)
    against: str | None = None
    # … or the same checkout (or ``against``'s) on another database holding the same data (built
    # by the benchmark at the same scale): SQLite and PostgreSQL timed in the same moments
    against_database: str | None = None
    against_rounds: int = 2  # mixed runs of each version with ``against``

    def other(self, url: str, app_root: Path | None) -> tuple[str, Path | None] | None:
        """The database and checkout served beside the run's (``against``,
        ``against_database``), or None."""
        if not (self.against or self.against_database):
            return None
        return (
            self.against_database or url,
            Path(self.against) if self.against else app_root,
        )


# --- the run ---


def _git_commit(root: Path = ROOT) -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            text=True,
            capture_output=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def run(opts: Options) -> dict[str, Any]:
    """The whole benchmark; returns the results (also written as JSON)."""
    started = dt.datetime.now(dt.UTC)
    if threading.current_thread() is threading.main_thread():
        # a SIGTERM still stops the server and removes the temporary files
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = tempfile.TemporaryDirectory(prefix="crm-bench-")
    workdir = Path(tmp.name)
    url = None
    try:
        url, load = prepare_database(opts, workdir)
        if opts.against_database:
            _check_against_database(opts, url, load)
        floor = Floor(url)
        ctx = _context(floor)
        meta = _meta(opts, url, floor, load, started)
        results: list[Result] = []
        wanted = [w.strip() for w in (opts.only or "").split(",") if w.strip()]
        only_mixed = bool(wanted) and all(w == "mixed" for w in wanted)
        app_root = Path(opts.app_root) if opts.app_root else None
        if only_mixed:
            results += capacity(url, workdir, floor, opts, app_root, meta)
            return _finish(opts, meta, results, started, floor)
        with contextlib.ExitStack() as servers:
            server = servers.enter_context(serve(url, workdir, app_root=app_root))
            pw = _password(opts)
            clients = _clients(server.base, pw)
            against = None
            other = opts.other(url, app_root)
            if other is not None:
                second = servers.enter_context(serve(other[0], workdir, app_root=other[1]))
                against = _clients(second.base, pw)
            cache: dict[str, list[dict[str, Any]]] = {}
            scenarios = [s for s in SCENARIOS if not wanted or any(w in s.name for w in wanted)]
            for sc in scenarios:
                try:
                    r = measure_scenario(sc, clients, floor, ctx, opts, cache, against)
                except httpx.HTTPError as exc:
                    r = Result(
                        sc.name,
                        "api" if sc.api else "page",
                        status="error",
                        note=f"{type(exc).__name__}: {exc}"[:200],
                        url=sc.url,
                    )
                results.append(r)
                vs = r.extra.get("against")
                opts.log(
                    f"  {_ljust(r.name, 40)} {r.status:<8} p95 {_ms(r.page.p95)}  "
                    f"floor {_ms(r.floor.p50)}  {r.note}"
                    + (
                        f"  p50 {_ms(r.page.p50)} against {_ms(vs.get('p50'))} "
                        f"(p95 {_ms(vs.get('p95'))})"
                        if vs
                        else ""
                    )
                    + (f"  against: {vs['error']}" if vs and vs.get("error") else "")
                )
            by_name = {r.name: r for r in results}
            tput = []
            for name in THROUGHPUT:
                r0 = by_name.get(name)
                sc = next(s for s in SCENARIOS if s.name == name)
                if r0 is None:
                    continue
                tr = Result(f"throughput: {name} x{opts.concurrency}", "throughput", url=sc.url)
                if r0.status in ("missing", "error"):
                    tr.status, tr.note = r0.status, r0.note
                else:
                    t = throughput(
                        server.base,
                        clients[(sc.role, sc.api)],
                        sc.url,
                        opts.concurrency,
                        opts.duration,
                    )
                    tr.extra = t
                    tr.page = Stats(n=t["requests"], p50=t["p50"], p95=t["p95"], max=t["max"])
                    tr.note = f"{t['rps']} req/s over {t['seconds']} s"
                    if t["failed"]:
                        tr.status = "error"
                        tr.note += f", {t['failed']} failed"
                    opts.log(f"  {_ljust(tr.name, 40)} {tr.note}")
                tput.append(tr)
            results += tput
            mem = server.peak_memory_kib()
            meta["server_memory_kib"] = mem
            for c in [*clients.values(), *(against or {}).values()]:
                c.close()
        if not wanted or "mixed" in wanted:
            results += capacity(url, workdir, floor, opts, app_root, meta)
        # the jobs too answer to --only (a page-only run in a short quiet window skips them)
        if not wanted or any(w in "job: a day's reminders" for w in wanted):
            results.append(reminders(url, floor, ctx))
        if not wanted or any(w in "import: firms (.xlsx)" for w in wanted):
            results.append(firm_import(url, workdir, IMPORT_ROWS[opts.scale]))
        return _finish(opts, meta, results, started, floor)
    finally:
        if url and not opts.reuse and not opts.keep and not _is_sqlite(url):
            with contextlib.suppress(Exception):
                _drop_postgres(url)
        if opts.keep and url and _is_sqlite(url) and not opts.reuse:
            opts.log(f"kept the database: {url}")
        else:
            tmp.cleanup()


def _finish(
    opts: Options, meta: dict[str, Any], results: list[Result], started: dt.datetime, floor: Floor
) -> dict[str, Any]:
    floor.close()
    meta["load_average_end"] = round(os.getloadavg()[0], 2)
    meta["seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    out = {"meta": meta, "results": [_as_dict(r) for r in results]}
    from bench.report import table, write_json

    path = write_json(out, opts.json_path)
    out["json_path"] = str(path)
    opts.log(table(out))
    opts.log(f"JSON: {path}")
    return out


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def capacity(
    url: str,
    workdir: Path,
    floor: Floor,
    opts: Options,
    app_root: Path | None,
    meta: dict[str, Any],
) -> list[Result]:
    """The mixed officer workload on one web process and on one per core, each on a fresh
    server (the same database). It logs contacts: on a kept (``--reuse``) database it runs on a
    copy, so the data stay as generated."""
    picks = mixed_picks(floor)
    with contextlib.ExitStack() as stack:
        if opts.reuse:
            with floor.released():
                mix_url = stack.enter_context(scratch_copy(url, workdir, opts.log))
        else:  # a database of this run alone, removed or kept as its result
            mix_url = url
        # with ``against``: each version in turn, the other one first, ``against_rounds`` times
        versions: list[tuple[str, Path | None, str]] = [(mix_url, app_root, "")]
        other = opts.other(url, app_root)
        if other is not None:
            other_url = mix_url
            if opts.against_database:  # a kept database too: the mix writes on a copy of it
                other_url = stack.enter_context(
                    scratch_copy(opts.against_database, workdir, opts.log)
                )
            versions = [
                (other_url, other[1], " (against)"),
                (mix_url, app_root, ""),
            ] * opts.against_rounds
        out = []
        for n in opts.mixed_workers:
            for k, (db, root, label) in enumerate(versions):
                if other is not None:
                    label += f", run {k // 2 + 1}"
                out.append(_capacity_run(db, workdir, picks, opts, root, n, label))
        meta["mixed"] = {"clients": opts.mixed_clients, "seconds": opts.mixed_seconds}
        return out


def _capacity_run(
    url: str,
    workdir: Path,
    picks: dict[str, list[Any]],
    opts: Options,
    app_root: Path | None,
    n: int,
    label: str,
) -> Result:
    """One mixed run on ``n`` web processes (0: one per core) of the app at ``app_root``."""
    workers = n or _cores()
    name = f"mixed x{opts.mixed_clients}, {workers} web process{'es' if workers > 1 else ''}"
    res = Result(name + label, "throughput", url="(mix)")
    with serve(url, workdir, workers=workers, app_root=app_root) as server:
        m: MixedResult = run_mixed(
            server.base,
            picks,
            _password(opts),
            clients=opts.mixed_clients,
            seconds=opts.mixed_seconds,
            log=opts.log,
            server_pid=server.proc.pid,
            database=_database_name(url),
        )
        server_log = server.log_tail(40) if m.failed else ""
    res.extra = {**m.as_dict(), "workers": workers}
    if server_log:  # why requests failed (the server's log goes with its folder)
        res.extra["server_log"] = server_log
    res.page = Stats(n=m.requests, p50=m.latency.p50, p95=m.latency.p95, max=m.latency.max)
    database = f", database {m.database_cpu_ms} ms" if m.database_cpu_ms is not None else ""
    res.note = (
        f"{m.rps} req/s over {m.seconds} s (load {m.load_average[0]} → {m.load_average[1]}; "
        f"server CPU {m.server_cpu_ms} ms a request{database}, client {m.client_cpu_ms} ms; "
        f"cores {m.machine_busy_pct} % busy)"
    )
    if m.failed:
        res.status = "error"
        res.note += f", {m.failed} failed: {'; '.join(m.errors[:3])}"
    return res


def _check_against_database(opts: Options, url: str, load: dict[str, Any]) -> None:
    """``--against-database``: another database than the run's, at this checkout's schema when
    this checkout serves it (migrated in place, as ``--reuse`` is), and holding the same data —
    else its figures compare other rows, which the run says (``load["against_differs"]``)."""
    from sqlalchemy.engine import make_url

    from crm import migrate  # lazy: only this option migrates a second database
    from crm.db import make_engine

    other = opts.against_database or ""
    if make_url(other) == make_url(url):
        raise RuntimeError("--against-database names the run's own database")
    if not (opts.against or opts.app_root):  # served by this checkout: its indexes
        migrate.upgrade(other)
    engine = make_engine(other)
    try:
        theirs = _loaded(engine)
    finally:
        engine.dispose()
    ours = load.get("counts")
    if theirs != ours:
        load["against_differs"] = {"run": ours, "against": theirs}
        opts.log(
            f"warning: {_safe(other)} does not hold the same rows as {_safe(url)} "
            f"({theirs} against {ours}): its figures compare other data"
        )


def _against_meta(opts: Options, url: str) -> dict[str, Any]:
    """What the figures beside the run's were measured on: the checkout and the database."""
    root = Path(opts.against) if opts.against else Path(opts.app_root or ROOT)
    return {
        "app_root": str(root),
        "commit": _git_commit(root),
        "database": _safe(opts.against_database or url),
    }


def _clients(base: str, password: str) -> dict[tuple[str, bool], httpx.Client]:
    """A signed-in web and API client of the officer and the manager the scenarios act as."""
    return {
        ("officer", False): web_login(base, OFFICER, password),
        ("manager", False): web_login(base, MANAGER, password),
        ("officer", True): api_login(base, OFFICER, password),
        ("manager", True): api_login(base, MANAGER, password),
    }


def _database_name(url: str) -> str | None:
    """The PostgreSQL database ``url`` names (its server's CPU is measured), else None."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return u.database if u.get_backend_name() == "postgresql" else None


def _ms(v: float | None) -> str:
    return "   —   " if v is None else f"{v:7.1f}"


def _as_dict(r: Result) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(r)


def _meta(
    opts: Options, url: str, floor: Floor, load: dict[str, Any], started: dt.datetime
) -> dict[str, Any]:
    db: dict[str, Any] = {"backend": "sqlite" if floor.sqlite else "postgresql", "url": _safe(url)}
    if floor.sqlite:
        db["version"] = sqlite3.sqlite_version
        db["fts5_trigram"] = floor.has_fts
    else:
        db["version"] = floor.query("SHOW server_version")[0][0]
        db["pg_trgm"] = floor.has_trgm
    return {
        "date": started.isoformat(timespec="seconds"),
        # other work on the machine skews every figure: the 1-minute load at the start
        "load_average": round(os.getloadavg()[0], 2),
        "scale": opts.scale,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "commit": _git_commit(Path(opts.app_root) if opts.app_root else ROOT),
        "database": db,
        "load": load,
        "requests": opts.requests,
        "warmup": opts.warmup,
        "concurrency": opts.concurrency,
        "duration_s": opts.duration,
        **({"against": _against_meta(opts, url)} if opts.other(url, None) else {}),
    }
