"""The benchmark: build (or reuse) a database at a scale, serve the app as a user runs it, log in
and time every scenario of bench.scenarios against its raw-SQL floor.

Everything runs against its own database and its own engine: the process-wide settings and
engine (crm.db.get_engine) are never touched, so the test suite can run the harness in-process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import inspect
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from bench.report import _ljust
from bench.scenarios import (
    BUDGETS_MS,
    FLOOR_RATIO_MAX,
    FLOOR_RATIO_MIN_MS,
    FLOORS,
    IMPORT_BUDGET_S,
    PICKS,
    REMINDERS_BUDGET_S,
    SCENARIOS,
    THROUGHPUT,
    Scenario,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
OFFICER = "officer001"
IMPORT_ROWS = {"city": 50_000, "small": 500}
MANAGER = "manager01"


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


@dataclass
class Stats:
    n: int = 0
    p50: float | None = None
    p95: float | None = None
    max: float | None = None

    @classmethod
    def of(cls, samples_ms: list[float]) -> Stats:
        if not samples_ms:
            return cls()
        s = sorted(samples_ms)
        return cls(
            n=len(s),
            p50=round(statistics.median(s), 3),
            p95=round(_pct(s, 95), 3),
            max=round(s[-1], 3),
        )


def _pct(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


@dataclass
class Result:
    name: str
    kind: str  # page | api | job | import | throughput
    status: str = "ok"  # ok | missing | error | wrong | skipped
    note: str = ""
    url: str = ""
    budget_ms: float | None = None
    page: Stats = field(default_factory=Stats)
    floor: Stats = field(default_factory=Stats)
    ratio: float | None = None  # page p50 / floor p50
    verdict: str = ""  # pass | FAIL | "" (no budget)
    extra: dict[str, Any] = field(default_factory=dict)


# --- the database ---


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _fresh_postgres(server_url: str, name: str) -> str:
    url = make_url(server_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url_s: str) -> None:
    url = make_url(url_s)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _postgres_exists(url_s: str) -> bool:
    url = make_url(url_s)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
        ).first()
    admin.dispose()
    return found is not None


def _loaded(engine: Engine) -> dict[str, int] | None:
    """Row counts when demo data is loaded, else None."""
    with engine.connect() as conn:
        try:
            if (
                conn.execute(
                    text("SELECT 1 FROM user_account WHERE username = :u"), {"u": OFFICER}
                ).first()
                is None
            ):
                return None
        except Exception:
            return None
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("firm", "contact", "project", "activity", "followup", "user_account")
        }


def prepare_database(opts: Options, workdir: Path) -> tuple[str, dict[str, Any]]:
    """A migrated database with the policy pack and the demo data; returns (url, load info)."""
    from crm import migrate
    from crm.db import make_engine
    from crm.policy.pack import read_pack
    from crm.policy.service import load_pack

    info: dict[str, Any] = {"reused": False}
    if opts.reuse and "://" in opts.reuse:
        url = opts.reuse
        if not _postgres_exists(url):
            url = _fresh_postgres(url, make_url(url).database or "crm_bench")
    elif opts.reuse:
        path = Path(opts.reuse).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        url = _sqlite_url(path)
    elif opts.database_url and not _is_sqlite(opts.database_url):
        base = make_url(opts.database_url).database or "crm"
        url = _fresh_postgres(opts.database_url, f"{base}_bench_{opts.scale}")
    elif opts.database_url:
        url = opts.database_url
    else:
        url = _sqlite_url(workdir / f"bench-{opts.scale}.db")

    t0 = time.perf_counter()
    migrate.upgrade(url)
    info["migrate_s"] = round(time.perf_counter() - t0, 2)
    engine = make_engine(url)
    try:
        from sqlmodel import Session

        t0 = time.perf_counter()
        with Session(engine) as s:
            load_pack(s, read_pack())
            s.commit()
        info["pack_s"] = round(time.perf_counter() - t0, 2)
        counts = _loaded(engine)
        if counts is not None and opts.reuse:
            info["reused"] = True
            opts.log(f"reusing {_safe(url)}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        else:
            if counts is not None:
                raise RuntimeError(
                    f"{_safe(url)} already holds demo data: use a fresh database or --reuse"
                )
            from crm.demo.generator import generate

            opts.log(f"loading the {opts.scale} demo data into {_safe(url)} …")
            t0 = time.perf_counter()
            kw: dict[str, Any] = {}
            if "progress" in inspect.signature(generate).parameters:
                kw["progress"] = lambda msg: opts.log(f"  {time.perf_counter() - t0:6.1f} s  {msg}")
            generate(engine, opts.scale, seed=42, password=_password(opts), **kw)
            info["demo_s"] = round(time.perf_counter() - t0, 1)
            counts = _loaded(engine) or {}
            opts.log(
                f"loaded in {info['demo_s']} s: " + ", ".join(f"{k} {v}" for k, v in counts.items())
            )
        info["counts"] = counts
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:  # fresh statistics for the planner
                conn.exec_driver_sql("PRAGMA optimize")
        else:
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
                conn.commit()
    finally:
        engine.dispose()
    return url, info


def _password(opts: Options) -> str:
    from crm.demo.password import DEMO_PASSWORD

    return opts.password or DEMO_PASSWORD


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# --- the server ---


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    base: str
    log_path: Path

    def peak_memory_kib(self) -> dict[str, int]:
        out: dict[str, int] = {}
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                key, _, val = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(val.split()[0])
        return out

    def log_tail(self, n: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""


@contextlib.contextmanager
def serve(url: str, workdir: Path) -> Iterator[Server]:
    """uvicorn in a subprocess on 127.0.0.1, as `crm serve --no-scheduler` runs the app."""
    port = _free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_RUN_SCHEDULER": "0",
        "CRM_SCHEDULER_ENABLED": "false",
    }
    log_path = workdir / "server.log"
    log = open(log_path, "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "server.factory:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 180  # a loaded machine starts slowly
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the server stopped:\n" + server.log_tail())
            try:
                if httpx.get(server.base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer in 180 s:\n" + server.log_tail())
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def web_login(base: str, username: str, password: str) -> httpx.Client:
    """A browser-like client: the csrftoken cookie from GET /login, then POST /login."""
    c = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    c.get("/login")
    token = c.cookies.get("csrftoken", "")
    r = c.post(
        "/login",
        data={"username": username, "password": password, "next": "/", "csrf_token": token},
    )
    if r.status_code != 303:
        raise RuntimeError(f"web login as {username} failed: HTTP {r.status_code}")
    c.headers["X-CSRFToken"] = token
    return c


def api_login(base: str, username: str, password: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    r = c.post("/api/v1/auth/token", data={"username": username, "password": password})
    if r.status_code != 200:
        raise RuntimeError(f"API login as {username} failed: HTTP {r.status_code}")
    c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    return c


# --- the raw-SQL floor ---


class Floor:
    """Floor SQL straight through the DBAPI (sqlite3 / psycopg), the pragmas of the app."""

    def __init__(self, url: str) -> None:
        u = make_url(url)
        self.sqlite = u.get_backend_name() == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(u.database, check_same_thread=False)
            for pragma in (
                "journal_mode=WAL",
                "busy_timeout=10000",
                "foreign_keys=ON",
                "synchronous=NORMAL",
                "cache_size=-65536",
                "temp_store=MEMORY",
            ):
                self.conn.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.conn = psycopg.connect(
                u.set(drivername="postgresql").render_as_string(hide_password=False),
                autocommit=True,
            )
        self.has_fts = self._has_table("firm_fts")
        self.has_trgm = not self.sqlite and self._has_trgm()

    def _has_table(self, name: str) -> bool:
        if self.sqlite:
            return (
                self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
                is not None
            )
        return self.conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None

    def _has_trgm(self) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM pg_indexes"
                " WHERE tablename = 'firm' AND indexdef ILIKE '%%gin_trgm%%'"
            ).fetchone()
            is not None
        )

    def _sql(self, sql: str) -> str:
        if self.sqlite:
            return sql
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))

    def _params(self, sql: str, params: dict[str, Any]) -> dict[str, Any]:
        used = set(re.findall(r"(?<![:\w]):(\w+)", sql))
        out = {}
        for k in used:
            v = params[k]
            if self.sqlite and isinstance(v, dt.datetime):  # stored naive UTC text
                v = v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
            out[k] = v
        return out

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        cur = self.conn.execute(self._sql(sql), self._params(sql, params or {}))
        return cur.fetchall()

    def search_sql(self, q: str) -> tuple[str, dict[str, Any]]:
        """The best query the database offers for a firm search, like the service's."""
        from crm.text import fold_query

        folded = fold_query(q)
        like = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        base = "SELECT f.id, f.name_zh, f.name_en, f.tier FROM firm f WHERE {cond} LIMIT 200"
        if self.sqlite and self.has_fts and len(folded) >= 3:
            phrase = '"' + folded.replace('"', '""') + '"'
            return (
                base.format(
                    cond="f.id IN (SELECT rowid FROM firm_fts WHERE firm_fts MATCH :match)"
                ),
                {"match": phrase},
            )
        if self.sqlite and self.has_fts and len(folded) == 2:
            # the trigrams that begin with the two characters, from the index's vocabulary
            terms = [
                t
                for (t,) in self.conn.execute(
                    "SELECT term FROM firm_fts_vocab WHERE term >= ? AND term < ? || char(1114111)",
                    (folded, folded),
                )
            ]
            match = (
                " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
                or '"' + folded.replace('"', '""') + '"'
            )
            return (
                base.format(
                    cond="f.id IN (SELECT rowid FROM firm_fts WHERE firm_fts MATCH :match)"
                ),
                {"match": match},
            )
        return (base.format(cond="f.search_text LIKE :like ESCAPE '\\'"), {"like": like})

    def run(self, keys: tuple[str, ...], params: dict[str, Any]) -> None:
        for key in keys:
            sql = FLOORS[key]
            if sql == "@search":
                sql, extra = self.search_sql(params["q"])
                params = {**params, **extra}
            self.query(sql, params)

    def close(self) -> None:
        self.conn.close()


# --- measuring ---


def _context(floor: Floor) -> dict[str, Any]:
    """Fixed parameters every floor and pick may use: the officer, today, the report period."""
    from crm.clock import day_bounds, today_local

    row = floor.query(
        "SELECT id, department_id FROM user_account WHERE username = :u", {"u": OFFICER}
    )[0]
    now = dt.datetime.now(dt.UTC)
    start, end = day_bounds(today_local(now))
    return {
        "user_id": row[0],
        "dept_id": row[1] if row[1] is not None else -1,
        "now": now,
        "day_start": start,
        "day_end": end,
        "weeks_start": start - dt.timedelta(weeks=12),
        "weeks_mid": start - dt.timedelta(weeks=6),
    }


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


def _param_rows(
    floor: Floor, sc: Scenario, ctx: dict[str, Any], cache: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    if sc.pick is None:
        return [{**ctx, **sc.params}]
    if sc.pick not in cache:
        cur = floor.conn.execute(floor._sql(PICKS[sc.pick]), floor._params(PICKS[sc.pick], ctx))
        names = [d[0] for d in cur.description]
        cache[sc.pick] = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return [{**ctx, **sc.params, **r} for r in cache[sc.pick]] or [{**ctx, **sc.params}]


def measure_scenario(
    sc: Scenario,
    clients: dict[tuple[str, bool], httpx.Client],
    floor: Floor,
    ctx: dict[str, Any],
    opts: Options,
    cache: dict[str, list[dict[str, Any]]],
) -> Result:
    res = Result(
        sc.name,
        "api" if sc.api else "page",
        url=sc.url,
        budget_ms=BUDGETS_MS.get(sc.budget) if sc.budget else None,
    )
    rows = _param_rows(floor, sc, ctx, cache)
    client = clients[(sc.role, sc.api)]
    urls = [sc.url.format(**r) for r in rows]
    res.url = urls[0]
    # warm-up; a route that is not built yet answers 404 / 405
    for i in range(max(1, opts.warmup)):
        r = client.get(urls[i % len(urls)])
        if r.status_code in (404, 405) and i == 0:
            res.status, res.note = "missing", f"HTTP {r.status_code}: route not built yet"
            return res
        if r.status_code != 200:
            res.status, res.note = "error", f"HTTP {r.status_code} on {urls[i % len(urls)]}"
            return res
        if sc.expect and i == 0 and sc.expect not in r.text:
            res.status, res.note = "wrong", f"the answer does not contain {sc.expect!r}"
    res.extra["bytes"] = len(r.content)
    samples: list[float] = []
    failures = 0
    deadline = time.monotonic() + opts.scenario_seconds
    for i in range(opts.requests):
        ms, r = _timed(lambda i=i: client.get(urls[i % len(urls)]))
        if r.status_code != 200:
            failures += 1
        samples.append(ms)
        if time.monotonic() > deadline and len(samples) >= 5:
            res.note = f"stopped after {len(samples)} requests ({opts.scenario_seconds:.0f} s)"
            break
    if failures:
        res.status, res.note = "error", f"{failures} of {len(samples)} requests failed"
    res.page = Stats.of(samples)
    # the floor: the same number of runs, same parameters
    if sc.floor:
        floor.run(sc.floor, rows[0])  # warm
        fs = [
            _timed(lambda i=i: floor.run(sc.floor, rows[i % len(rows)]))[0]
            for i in range(len(samples))
        ]
        res.floor = Stats.of(fs)
        if res.floor.p50 and res.page.p50:
            res.ratio = round(res.page.p50 / res.floor.p50, 1)
        if sc.floor == ("firm_search",):
            res.extra["floor_uses"] = (
                "fts5"
                if (floor.sqlite and floor.has_fts and len(sc.params.get("q", "")) >= 2)
                else "like"
            )
    res.verdict = _verdict(res)
    return res


def _verdict(res: Result) -> str:
    if res.status in ("missing", "skipped") or res.page.p95 is None:
        return ""
    ok = True
    if res.budget_ms is not None and res.page.p95 > res.budget_ms:
        ok = False
    if (
        res.floor.p50 is not None
        and res.floor.p50 > FLOOR_RATIO_MIN_MS
        and res.ratio is not None
        and res.ratio > FLOOR_RATIO_MAX
    ):
        ok = False
    if res.status != "ok":
        ok = False
    return "pass" if ok else "FAIL"


def throughput(
    base: str,
    template: httpx.Client,
    path: str,
    concurrency: int,
    duration: float,
    max_requests: int = 200_000,
) -> dict[str, Any]:
    """``concurrency`` clients in threads, each with the template's cookies and headers, each
    asking ``path`` in a loop until ``duration`` seconds pass (or ``max_requests`` in all)."""
    stop = time.monotonic() + duration
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0}
    lat: list[float] = []

    def worker() -> None:
        with httpx.Client(
            base_url=base, timeout=60, cookies=template.cookies, headers=template.headers
        ) as c:
            first = True  # every client asks at least once, however late its thread starts
            while first or time.monotonic() < stop:
                first = False
                with lock:
                    if counts["ok"] + counts["failed"] >= max_requests:
                        return
                t0 = time.perf_counter()
                try:
                    ok = c.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                ms = (time.perf_counter() - t0) * 1000
                with lock:
                    counts["ok" if ok else "failed"] += 1
                    lat.append(ms)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 120)
    elapsed = time.perf_counter() - t0
    st = Stats.of(lat)
    return {
        "requests": counts["ok"],
        "failed": counts["failed"],
        "seconds": round(elapsed, 2),
        "rps": round(counts["ok"] / elapsed, 1) if elapsed else None,
        "p50": st.p50,
        "p95": st.p95,
        "max": st.max,
    }


def _find(*paths: str) -> Callable[..., Any] | None:
    """The first ``module:function`` that exists, or None (the feature is not built yet)."""
    for p in paths:
        mod, _, fn = p.partition(":")
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        f = getattr(m, fn, None)
        if callable(f):
            return f
    return None


def reminders(url: str, floor: Floor, ctx: dict[str, Any]) -> Result:
    """A day's reminder composition, in-process, rolled back (the database stays reusable)."""
    res = Result("job: a day's reminders", "job", budget_ms=REMINDERS_BUDGET_S * 1000)
    compose = _find("crm.outbox.compose:compose_daily_reminders")
    if compose is None:
        res.status, res.note = "missing", "crm.outbox.compose.compose_daily_reminders not built"
        return res
    from sqlmodel import Session

    from crm.clock import today_local
    from crm.db import make_engine

    engine = make_engine(url)
    try:
        samples, written = [], 0
        for _ in range(2):
            with Session(engine) as s:
                t0 = time.perf_counter()
                written = compose(s, day=today_local(ctx["now"]), now=ctx["now"])
                s.flush()
                samples.append((time.perf_counter() - t0) * 1000)
                s.rollback()
        res.page = Stats.of(samples)
        res.extra["messages"] = written
        res.note = f"{written} messages composed (rolled back)"
    finally:
        engine.dispose()
    fs = [_timed(lambda: floor.run(("reminders",), ctx))[0] for _ in range(2)]
    res.floor = Stats.of(fs)
    if res.floor.p50 and res.page.p50:
        res.ratio = round(res.page.p50 / res.floor.p50, 1)
    res.verdict = "pass" if res.page.max is not None and res.page.max <= res.budget_ms else "FAIL"
    return res


def firms_xlsx(n: int, path: Path, seed: int = 7) -> Path:
    """An Excel file of ``n`` new firms (names unlike the demo's), as an office would send."""
    import random

    import xlsxwriter

    rng = random.Random(seed)
    cities = "北京上海天津广州深圳杭州南京苏州成都武汉西安长沙郑州合肥青岛厦门宁波无锡济南大连"
    pool = (
        "华信达通泰安康瑞丰源宏远鼎盛新联合创科智能电子精密材料光电汽车装备能源生物医药"
        "环保航空轨道仪器机器数据云芯微纳晶硅锂氢风海天星辰金银铜铝钢"
    )
    trades = [
        "科技",
        "电子",
        "实业",
        "精密",
        "新材料",
        "智能装备",
        "汽车零部件",
        "光电",
        "能源",
        "生物医药",
        "环保",
        "仪器仪表",
        "半导体",
        "软件",
    ]
    clusters = ["NB", "COMM", "IC", "NEV", "RAIL", "MAT", "WIND", "INST"]
    countries = ["中国", "美国", "日本", "德国", "韩国", "中国台湾", "新加坡", "法国"]
    seen: set[str] = set()
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("企业")
    head = [
        "企业名称",
        "英文名称",
        "别名",
        "国家或地区",
        "世界500强排名",
        "中国500强排名",
        "行业龙头",
        "产业集群",
        "网站",
        "备注",
    ]
    ws.write_row(0, 0, head)
    row = 1
    while row <= n:
        city = cities[2 * rng.randrange(len(cities) // 2) :][:2]
        brand = "".join(rng.choice(pool) for _ in range(rng.choice((2, 2, 3))))
        name = f"{city}{brand}{rng.choice(trades)}有限公司"
        if name in seen:
            continue
        seen.add(name)
        g500 = rng.randint(1, 500) if rng.random() < 0.01 else None
        c500 = rng.randint(1, 500) if rng.random() < 0.03 else None
        ws.write_row(
            row,
            0,
            [
                name,
                f"Import Bench {row} Co., Ltd.",
                f"{city}{brand}",
                rng.choice(countries),
                g500 or "",
                c500 or "",
                "是" if rng.random() < 0.05 else "",
                rng.choice(clusters),
                f"https://www.example{row}.cn",
                "",
            ],
        )
        row += 1
    wb.close()
    return path


def firm_import(url: str, workdir: Path, n: int = 50_000) -> Result:
    """50,000 firms from Excel through the import service, in-process, rolled back."""
    res = Result(f"import: {n:,} firms (.xlsx)", "import", budget_ms=IMPORT_BUDGET_S * 1000)
    fn = _find("crm.imports.service:import_firms")
    if fn is None:
        res.status, res.note = "missing", "no firm import service yet (crm.imports)"
        return res
    from sqlmodel import Session, select

    from crm.accounts.models import User
    from crm.db import make_engine

    path = RESULTS / "cache" / f"import-firms-{n}.xlsx"  # slow to write: made once, kept
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        firms_xlsx(n, path.with_suffix(".tmp.xlsx")).rename(path)
    data = path.read_bytes()
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            actor = s.scalar(select(User).where(User.username == MANAGER))
            t0 = time.perf_counter()
            # a generated name may happen to match a demo firm: such rows are skipped, counted
            rep = fn(s, actor, data, path.name, skip_invalid=True)
            s.flush()
            ms = (time.perf_counter() - t0) * 1000
            s.rollback()
    finally:
        engine.dispose()
    res.page = Stats.of([ms])
    res.extra = {"imported": rep.imported, "rejected": len(rep.rejected), "bytes": len(data)}
    res.note = f"{rep.imported} imported, {len(rep.rejected)} rejected (rolled back)"
    if rep.imported < n * 0.99:
        res.status = "error"
    res.verdict = "pass" if res.status == "ok" and ms <= res.budget_ms else "FAIL"
    return res


# --- the run ---


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
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
        floor = Floor(url)
        ctx = _context(floor)
        meta = _meta(opts, url, floor, load, started)
        results: list[Result] = []
        with serve(url, workdir) as server:
            pw = _password(opts)
            clients = {
                ("officer", False): web_login(server.base, OFFICER, pw),
                ("manager", False): web_login(server.base, MANAGER, pw),
                ("officer", True): api_login(server.base, OFFICER, pw),
                ("manager", True): api_login(server.base, MANAGER, pw),
            }
            cache: dict[str, list[dict[str, Any]]] = {}
            wanted = [w.strip() for w in (opts.only or "").split(",") if w.strip()]
            scenarios = [s for s in SCENARIOS if not wanted or any(w in s.name for w in wanted)]
            for sc in scenarios:
                try:
                    r = measure_scenario(sc, clients, floor, ctx, opts, cache)
                except httpx.HTTPError as exc:
                    r = Result(
                        sc.name,
                        "api" if sc.api else "page",
                        status="error",
                        note=f"{type(exc).__name__}: {exc}"[:200],
                        url=sc.url,
                    )
                results.append(r)
                opts.log(
                    f"  {_ljust(r.name, 40)} {r.status:<8} p95 {_ms(r.page.p95)}  "
                    f"floor {_ms(r.floor.p50)}  {r.note}"
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
            for c in clients.values():
                c.close()
        results.append(reminders(url, floor, ctx))
        results.append(firm_import(url, workdir, IMPORT_ROWS[opts.scale]))
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
    finally:
        if url and not opts.reuse and not opts.keep and not _is_sqlite(url):
            with contextlib.suppress(Exception):
                _drop_postgres(url)
        if opts.keep and url and _is_sqlite(url) and not opts.reuse:
            opts.log(f"kept the database: {url}")
        else:
            tmp.cleanup()


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
        "commit": _git_commit(),
        "database": db,
        "load": load,
        "requests": opts.requests,
        "warmup": opts.warmup,
        "concurrency": opts.concurrency,
        "duration_s": opts.duration,
    }
