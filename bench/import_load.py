"""An import under load: 50,000 firms uploaded through the import page of a running server,
while another user opens the firm list over and over. Reports the import's time and the firm
list's p50/p95 before and during it, the web process's peak memory (VmHWM) and the import
worker process's (its own log line: CPU and VmHWM).

    .venv/bin/python -m bench.import_load [--rows 50000] [--port 8765] [--database COPY.db]

Kept apart from bench/harness.py (owned by the capacity work); it reuses bench/jobs.py's
workbook maker."""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "importer01", "Correct-Horse-42"


def _prepare(url: str, firms: int, existing: bool = False) -> None:
    from sqlmodel import select

    from crm import migrate
    from crm.accounts.departments import get_or_create_department
    from crm.accounts.users import create_user
    from crm.db import reset_engine, session_scope
    from crm.models.accounts import User
    from crm.policy.pack import read_pack
    from crm.policy.service import load_pack

    os.environ["CRM_DATABASE_URL"] = url
    from crm.config import get_settings

    get_settings.cache_clear()
    reset_engine()
    migrate.upgrade(url)
    with session_scope() as s:
        if not existing:
            load_pack(s, read_pack())
        if s.scalar(select(User.id).where(User.username == USER)) is None:
            dep = get_or_create_department(s, "招商局（导入测试）", "BENCH-IMPORT")
            create_user(
                s,
                None,
                username=USER,
                password=PASSWORD,
                role="manager",
                department_id=dep.id,
                check_password=False,
            )
    if existing:  # a copy of the city data: its firms are the list's
        reset_engine()
        return
    if firms:  # a firm list with something in it
        from bench.jobs import firms_xlsx

        path = firms_xlsx(firms, Path(tempfile.mkdtemp()) / "seed.xlsx", seed=3)
        from crm.imports.service import import_firms

        with session_scope() as s:
            actor = s.scalar(select(User).where(User.username == USER))
            import_firms(s, actor, path.read_bytes(), path.name, skip_invalid=True)
    reset_engine()


def _login(base: str) -> httpx.Client:
    c = httpx.Client(base_url=base, timeout=600)
    c.get("/login")
    token = c.cookies["csrftoken"]
    r = c.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": token})
    assert r.status_code in (200, 303), r.status_code
    return c


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p * (len(xs) - 1)))]


def _status(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key):
            return line.split(":", 1)[1].strip()
    return "?"


def _cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--seed-firms", type=int, default=5_000)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument(
        "--no-reader",
        action="store_true",
        help="no firm-list requests during the import (the import's own time and CPU)",
    )
    ap.add_argument(
        "--database",
        help="an existing SQLite database to import into (a COPY of the city data: it is "
        "written to); default: a new one with --seed-firms firms",
    )
    args = ap.parse_args()
    if args.database:
        url = f"sqlite:///{Path(args.database).resolve()}"
        _prepare(url, 0, existing=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="crm-import-load-"))
        url = f"sqlite:///{work / 'crm.db'}"
        _prepare(url, args.seed_firms)
    from bench.jobs import RESULTS, firms_xlsx

    path = RESULTS / "cache" / f"import-firms-{args.rows}.xlsx"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        firms_xlsx(args.rows, path.with_suffix(".tmp.xlsx")).rename(path)
    env = {**os.environ, "CRM_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    log_fd, log_name = tempfile.mkstemp(prefix="crm-import-load-", suffix=".log")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "server.app:create_app",
            "--port",
            str(args.port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        stderr=log_fd,  # the import worker (a child process of the server) logs its run here
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/login", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        reader, importer = _login(base), _login(base)

        errors: list[int] = []

        def page() -> float:
            t0 = time.perf_counter()
            r = reader.get("/firms")
            if r.status_code != 200:  # counted and reported, e.g. "database is locked"
                errors.append(r.status_code)
            return (time.perf_counter() - t0) * 1000

        for _ in range(5):
            page()
        before = [page() for _ in range(60)]
        done: dict[str, float | str] = {}

        def upload() -> None:
            cpu0 = _cpu(server.pid)
            t0 = time.perf_counter()
            r = importer.post(
                "/imports",
                data={"kind": "firms", "mode": "skip", "csrf_token": importer.cookies["csrftoken"]},
                files={"file": (path.name, path.read_bytes())},
                headers={"HX-Request": "true"},
            )
            done["accepted_s"] = time.perf_counter() - t0  # stored and queued: the answer
            m = re.search(r'data-run="(\d+)"', r.text)
            if r.status_code != 200 or not m:
                done.update(seconds=0.0, server_cpu_s=0.0, status=r.status_code)
                done["said"] = " ".join(r.text.split())[:200]
                return
            done["run"] = m.group(1)
            # the worker process imports it; the page polls the run (once a second, as here)
            while True:
                time.sleep(1)
                p = importer.get(f"/imports/runs/{m.group(1)}", headers={"HX-Request": "true"})
                state = re.search(r'data-status="(\w+)"', p.text)
                if (
                    p.status_code != 200
                    or not state
                    or state.group(1)
                    not in (
                        "queued",
                        "running",
                    )
                ):
                    break
            done["seconds"] = time.perf_counter() - t0
            done["server_cpu_s"] = _cpu(server.pid) - cpu0
            done["status"] = state.group(1) if state else p.status_code
            shown = re.search(r'id="import-(?:done|error)"[^>]*>([^<]*)<', p.text)
            done["said"] = " ".join((shown.group(1) if shown else p.text).split())[:200]

        t = threading.Thread(target=upload)
        t.start()
        during = []
        while t.is_alive():
            if args.no_reader:
                t.join()
                break
            during.append(page())
        t.join()
        load = os.getloadavg()
        print(f"rows: {args.rows:,} firms from {path.name} ({path.stat().st_size:,} bytes)")
        print(
            f"import: {done['seconds']:.1f} s wall (upload answered in "
            f"{float(done.get('accepted_s', 0)):.1f} s), web process CPU "
            f"{done['server_cpu_s']:.1f} s, run {done['status']}: {done['said']}"
        )
        print(
            f"firm list before: n={len(before)} p50={statistics.median(before):.0f} ms "
            f"p95={_pct(before, 0.95):.0f} ms"
        )
        if during:
            print(
                f"firm list during: n={len(during)} p50={statistics.median(during):.0f} ms "
                f"p95={_pct(during, 0.95):.0f} ms max={max(during):.0f} ms"
            )
        print(
            f"web process VmHWM {_status(server.pid, 'VmHWM')}, "
            f"VmRSS after {_status(server.pid, 'VmRSS')}"
        )
        for _ in range(50):  # the worker's line follows the run's commit
            said = re.search(
                rf"import run {done.get('run')} \w+ in .*", Path(log_name).read_text("utf-8")
            )
            if said:
                print(f"worker: {said.group(0)}")
                break
            time.sleep(0.1)
        else:
            print(f"worker: no log line (see {log_name})")
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (shared machine)")
    finally:
        os.close(log_fd)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
