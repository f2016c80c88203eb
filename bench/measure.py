"""Measuring: percentiles, one scenario's timed requests beside its floor, the verdict, and the
throughput of one page under concurrent clients."""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from bench.floor import Floor
from bench.scenarios import (
    BUDGETS_MS,
    FLOOR_RATIO_MAX,
    FLOOR_RATIO_MIN_MS,
    PICKS,
    Scenario,
)

if TYPE_CHECKING:
    from bench.harness import Options

OFFICER = "officer001"


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
    against: dict[tuple[str, bool], httpx.Client] | None = None,
) -> Result:
    """``sc``'s timed requests and its floor. With ``against`` (clients of a second server, another
    checkout of the app on the same database) each request is sent to both, in turn and in
    alternating order, so both versions are timed in the same moments of the machine: the
    second's figures go in ``extra["against"]``."""
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
    other = against.get((sc.role, sc.api)) if against else None
    if other is not None:
        problem = _warm_other(other, sc, urls, opts)
        if problem:  # its figures would describe error pages: not measured, and said so
            res.extra["against"] = {"error": problem}
            other = None
    samples: list[float] = []
    samples_b: list[float] = []
    turns: list[tuple[httpx.Client, list[float]]] = [(client, samples)]
    if other is not None:
        turns.append((other, samples_b))
    failed = {id(samples): 0, id(samples_b): 0}
    deadline = time.monotonic() + opts.scenario_seconds
    lost = ""  # the second server stopped answering: its samples end there, the page's go on
    for i in range(opts.requests):
        url = urls[i % len(urls)]
        for c, into in turns if i % 2 == 0 else turns[::-1]:
            try:
                ms, r = _timed(lambda c=c, url=url: c.get(url))
            except httpx.HTTPError as exc:
                if into is samples:
                    raise
                lost = f"{type(exc).__name__}: {exc}"[:200]
                turns = turns[:1]
                if against is not None:
                    against.clear()  # no later scenario sends to it
                continue
            if r.status_code != 200:
                failed[id(into)] += 1
            into.append(ms)
        if time.monotonic() > deadline and len(samples) >= 5:
            res.note = f"stopped after {len(samples)} requests ({opts.scenario_seconds:.0f} s)"
            break
    failures, failures_b = failed[id(samples)], failed[id(samples_b)]
    if failures:
        res.status, res.note = "error", f"{failures} of {len(samples)} requests failed"
    res.page = Stats.of(samples)
    if other is not None:
        b = Stats.of(samples_b)
        vs: dict[str, Any] = {"n": b.n, "p50": b.p50, "p95": b.p95, "max": b.max}
        if failures_b or lost:
            # figures of error pages, or of part of the run: no ratio, and the row says so
            vs["error"] = lost or f"{failures_b} of {len(samples_b)} requests failed"
        elif b.p50 and res.page.p50:
            vs["p50_ratio"] = round(res.page.p50 / b.p50, 2)
        res.extra["against"] = vs
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


def _warm_other(other: httpx.Client, sc: Scenario, urls: list[str], opts: Options) -> str | None:
    """The second server's warm-up, checked as the page's is: why it is not measured, or None."""
    try:
        for i in range(max(1, opts.warmup)):
            r = other.get(urls[i % len(urls)])
            if r.status_code != 200:
                return f"HTTP {r.status_code} on {urls[i % len(urls)]}"
            if sc.expect and i == 0 and sc.expect not in r.text:
                return f"the answer does not contain {sc.expect!r}"
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


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
