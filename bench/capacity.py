"""Capacity: a mixed officer workload from many clients at once, requests per second and latency.

Each client is one signed-in officer's browser (session cookie + CSRF token, keep-alive), asking
in a loop, for a fixed time, a mix of what an officer's day consists of: the firm list, firm
searches (Chinese, English, pinyin, initials), a firm's page, My day, the pipeline board, a
project's page, and logging a contact on a firm (a real write, through the HTMX form).

The clients use ``http.client`` in threads, not httpx: the load generator shares the machine with
the server, and a lighter client leaves more of it to the server (httpx costs several times more
CPU per request).
"""

from __future__ import annotations

import http.client
import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from bench.measure import Stats

if TYPE_CHECKING:
    from bench.floor import Floor

# (kind, weight): how often each kind of request comes in the mix
MIX: list[tuple[str, int]] = [
    ("firm list", 20),
    ("firm search", 20),
    ("firm page", 20),
    ("my day", 15),
    ("board", 5),
    ("project page", 15),
    ("log a contact", 5),
]
MIX_SEARCHES = ["惠普", "HP", "huipu", "长安汽车", "hp", "华为", "汽车"]

# firms and projects the mix visits: busy ones and a spread (projects an officer of any
# department may see: the clients are officers of several departments)
MIX_PICKS = {
    "firm": """
        SELECT id FROM (SELECT af.firm_id AS id, count(*) AS n FROM activity_firm af
          GROUP BY af.firm_id ORDER BY n DESC, af.firm_id LIMIT 20) busy
        UNION ALL
        SELECT id FROM (SELECT id FROM firm WHERE id % 211 = 3 ORDER BY id LIMIT 200) spread""",
    "project": """
        SELECT id FROM (SELECT p.id FROM project p WHERE NOT p.is_confidential
          AND p.id % 97 = 5 ORDER BY p.id LIMIT 200) spread""",
    "log_firm": "SELECT id FROM firm WHERE id % 101 = 7 ORDER BY id LIMIT 200",
    "officer": """SELECT username FROM user_account WHERE role = 'officer' AND is_active
        ORDER BY username LIMIT 64""",
}


def mixed_picks(floor: Floor) -> dict[str, list[Any]]:
    """The ids and officers the mix uses, read once from the database."""
    picks = {k: [r[0] for r in floor.query(sql)] for k, sql in MIX_PICKS.items()}
    for key, fallback in MIX_FALLBACK.items():  # a small database may have none of the spread
        if not picks[key]:
            picks[key] = [r[0] for r in floor.query(fallback)]
    return picks


MIX_FALLBACK = {
    "firm": "SELECT id FROM firm ORDER BY id LIMIT 50",
    "log_firm": "SELECT id FROM firm ORDER BY id LIMIT 50",
    "project": "SELECT id FROM project p WHERE NOT p.is_confidential ORDER BY id LIMIT 50",
}


@dataclass
class MixedResult:
    clients: int
    seconds: float
    requests: int = 0
    failed: int = 0
    rps: float | None = None
    latency: Stats = field(default_factory=Stats)
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute load at the start and the end
    # the server's own CPU (its web processes, all threads) per answered request, and how busy
    # the machine's cores were over the timed window (Linux /proc; None elsewhere): a measure
    # that does not move with other work on the machine, and whether every core was used
    server_cpu_ms: float | None = None
    machine_busy_pct: float | None = None
    # the load generator's own CPU (this process, all its client threads) per answered request:
    # it shares the machine with the server, so it must stay small beside a request's cost
    client_cpu_ms: float | None = None
    # PostgreSQL's CPU per answered request: its server processes serving the mix's database,
    # when that server runs on this machine (None on SQLite, which runs inside the web
    # processes, or a server elsewhere): with the two above, where the cores went
    database_cpu_ms: float | None = None
    writes: int = 0  # contacts logged, the untimed warm-up's too (what a kept database would keep)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "seconds": self.seconds,
            "requests": self.requests,
            "failed": self.failed,
            "rps": self.rps,
            "p50": self.latency.p50,
            "p95": self.latency.p95,
            "max": self.latency.max,
            "by_kind": self.by_kind,
            "errors": self.errors[:10],
            "load_average_start": self.load_average[0],
            "load_average_end": self.load_average[1],
            "client_cpu_ms_per_request": self.client_cpu_ms,
            "server_cpu_ms_per_request": self.server_cpu_ms,
            "database_cpu_ms_per_request": self.database_cpu_ms,
            "machine_busy_pct": self.machine_busy_pct,
            "writes": self.writes,
        }


class Browser:
    """One officer's browser over one keep-alive connection: cookies, CSRF token, HTMX posts."""

    def __init__(self, base: str) -> None:
        u = urlsplit(base)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.cookies: dict[str, str] = {}

    def _cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None, htmx: bool = False
    ) -> tuple[int, bytes]:
        headers = {"Cookie": self._cookie_header(), "Host": f"{self.host}:{self.port}"}
        data = None
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        if htmx:
            headers["HX-Request"] = "true"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (http.client.HTTPException, ConnectionError):
                # the server closed a kept-alive connection: reconnect once
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        for raw in resp.headers.get_all("set-cookie") or []:
            c: SimpleCookie = SimpleCookie()
            c.load(raw)
            for k, morsel in c.items():
                self.cookies[k] = morsel.value
        return resp.status, payload

    def login(self, username: str, password: str) -> None:
        self.request("GET", "/login")
        status, _ = self.request(
            "POST",
            "/login",
            {
                "username": username,
                "password": password,
                "next": "/",
                "csrf_token": self.cookies.get("csrftoken", ""),
            },
        )
        if status != 303:
            raise RuntimeError(f"web login as {username} failed: HTTP {status}")

    def close(self) -> None:
        self.conn.close()


def plan(seed: int, n: int) -> list[str]:
    """A fixed sequence of ``n`` request kinds drawn by the mix's weights."""
    rng = random.Random(seed)
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    return rng.choices(kinds, weights=weights, k=n)


def _request_for(kind: str, rng: random.Random, picks: dict[str, list[Any]]) -> tuple[str, str]:
    if kind == "firm list":
        return "GET", "/firms"
    if kind == "firm search":
        return "GET", "/firms?q=" + quote(rng.choice(MIX_SEARCHES))
    if kind == "firm page":
        return "GET", f"/firms/{rng.choice(picks['firm'])}"
    if kind == "my day":
        return "GET", "/"
    if kind == "board":
        return "GET", "/pipeline"
    if kind == "project page":
        return "GET", f"/projects/{rng.choice(picks['project'])}"
    if kind == "log a contact":
        return "POST", f"/firms/{rng.choice(picks['log_firm'])}/activities"
    raise ValueError(kind)


def run_mixed(
    base: str,
    picks: dict[str, list[Any]],
    password: str,
    clients: int = 16,
    seconds: float = 30.0,
    seed: int = 19,
    log: Callable[[str], None] = print,
    warmup: float = 5.0,
    server_pid: int | None = None,
    database: str | None = None,
) -> MixedResult:
    """``clients`` officers, each in its own thread and connection, asking the mix for
    ``seconds`` seconds after all have logged in and ``warmup`` untimed seconds (cold caches,
    first renders); every answer must be 200. ``database``: the name of the PostgreSQL
    database the server uses, whose server processes' CPU is measured if they run here."""
    officers = picks["officer"] or ["officer001"]
    browsers = []
    for i in range(clients):
        b = Browser(base)
        b.login(officers[i % len(officers)], password)
        browsers.append(b)
    lock = threading.Lock()
    lat: list[float] = []
    by_kind: dict[str, list[float]] = {k: [] for k, _ in MIX}
    failed: dict[str, int] = {k: 0 for k, _ in MIX}
    errors: list[str] = []
    writes = [0]
    start = threading.Event()
    stop_at = [0.0]
    measure_from = [0.0]

    def client(i: int, b: Browser) -> None:
        rng = random.Random(seed * 1000 + i)
        sequence = plan(seed * 1000 + i, 4096)
        start.wait()
        n = 0
        timed = False
        # until the end of the window, and at least one timed request each: on a starved machine
        # a request begun in the warm-up can outlast a short window (the elapsed time counts it)
        while time.monotonic() < stop_at[0] or not timed:
            kind = sequence[n % len(sequence)]
            n += 1
            method, path = _request_for(kind, rng, picks)
            t0 = time.perf_counter()
            timed = time.monotonic() >= measure_from[0]
            try:
                if method == "POST":
                    status, _ = b.request(
                        "POST",
                        path,
                        {
                            "kind": "call",
                            "summary": f"容量测试 {i}-{n}: 电话沟通项目进展",
                            # the form's one-use key, as the page renders it (crm.submissions)
                            "submission_key": secrets.token_urlsafe(18),
                        },
                        htmx=True,
                    )
                else:
                    status, _ = b.request("GET", path)
            except (OSError, http.client.HTTPException) as exc:
                status = 0
                with lock:
                    errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
            ms = (time.perf_counter() - t0) * 1000
            if method == "POST" and status == 200:
                with lock:
                    writes[0] += 1
            if not timed:
                continue
            with lock:
                if status == 200:
                    lat.append(ms)
                    by_kind[kind].append(ms)
                else:
                    failed[kind] += 1
                    if status and len(errors) < 50:
                        errors.append(f"{method} {path}: HTTP {status}")

    threads = [
        threading.Thread(target=client, args=(i, b), daemon=True) for i, b in enumerate(browsers)
    ]
    for t in threads:
        t.start()
    res = MixedResult(clients=clients, seconds=seconds)
    load0 = os.getloadavg()[0]
    measure_from[0] = time.monotonic() + warmup
    stop_at[0] = measure_from[0] + seconds
    start.set()
    time.sleep(max(0.0, measure_from[0] - time.monotonic()))
    cpu0 = time.process_time()  # the clients' CPU from the timed part on
    server0 = tree_cpu_seconds(server_pid)
    database0 = database_cpu_seconds(database)
    machine0 = machine_ticks()
    for t in threads:
        t.join(warmup + seconds + 120)
    elapsed = time.monotonic() - measure_from[0]
    cpu = time.process_time() - cpu0
    server1 = tree_cpu_seconds(server_pid)
    database1 = database_cpu_seconds(database)
    machine1 = machine_ticks()
    for b in browsers:
        b.close()
    res.seconds = round(elapsed, 2)
    res.requests = len(lat)
    res.failed = sum(failed.values())
    res.rps = round(len(lat) / elapsed, 1) if elapsed else None
    res.latency = Stats.of(lat)
    res.by_kind = {k: {**Stats.of(v).__dict__, "failed": failed[k]} for k, v in by_kind.items()}
    res.errors = errors
    res.writes = writes[0]
    res.load_average = (round(load0, 2), round(os.getloadavg()[0], 2))
    res.client_cpu_ms = round(1000 * cpu / len(lat), 2) if lat else None
    if server0 is not None and server1 is not None and lat:
        res.server_cpu_ms = round(1000 * (server1 - server0) / len(lat), 2)
    if database0 is not None and database1 is not None and lat and database1:
        # a process that began in the window counts from zero; one gone before its end is lost
        spent = sum(t - database0.get(pid, 0.0) for pid, t in database1.items())
        res.database_cpu_ms = round(1000 * spent / len(lat), 2)
    if machine0 is not None and machine1 is not None and machine1[0] > machine0[0]:
        total, idle = machine1[0] - machine0[0], machine1[1] - machine0[1]
        res.machine_busy_pct = round(100 * (total - idle) / total, 1)
    log(
        f"  mixed workload x{clients}, {res.seconds} s: {res.rps} req/s, p50 {res.latency.p50} "
        f"p95 {res.latency.p95} ms, {res.failed} failed (load {res.load_average[0]} → "
        f"{res.load_average[1]}; server CPU {res.server_cpu_ms} ms a request"
        + (f", database {res.database_cpu_ms} ms" if res.database_cpu_ms is not None else "")
        + f", client {res.client_cpu_ms} ms; cores {res.machine_busy_pct} % busy)"
    )
    return res


def database_cpu_seconds(database: str | None) -> dict[int, float] | None:
    """CPU seconds (user + system) used so far by each PostgreSQL server process on this
    machine serving ``database`` (its process title names the database), by process id; None
    without a name or without Linux's /proc."""
    if not database or not os.path.isdir("/proc"):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    mark = f" {database} ".encode()
    out: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                title = f.read()
            if not title.startswith(b"postgres: ") or mark not in title:
                continue
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile, or not ours to read
        out[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants, from
    Linux's /proc; None elsewhere or when it is gone."""
    if pid is None:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    todo = [pid]
    try:
        while todo:
            p = todo.pop()
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
    except (OSError, ValueError, IndexError):
        return None
    return total


def machine_ticks() -> tuple[int, int] | None:
    """All CPU ticks of the machine so far, and the idle ones (idle + iowait), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(ticks), ticks[3] + ticks[4]
