"""``crm serve`` runs several web processes on one database (the test's SQLite file, or
PostgreSQL when CRM_TEST_DATABASE_URL is set), and exactly one of them runs the scheduler."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from crm.config import Settings
from crm.db import get_engine
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def _children(pid: int) -> set[int]:
    out = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(pid):
            out.add(int(status.parent.name))
    return out


def test_the_default_is_one_web_process_per_core() -> None:
    assert Settings(web_workers=0).workers == len(os.sched_getaffinity(0))
    assert Settings(web_workers=3).workers == 3


def test_n_web_processes_start_and_exactly_one_runs_the_scheduler(tmp_path: Path) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "CRM_DATABASE_URL": get_engine().url.render_as_string(hide_password=False),
        "CRM_SCHEDULER_ENABLED": "true",
        "CRM_WEB_WORKERS": "3",  # the setting, not the flag
        "PYTHONPATH": str(ROOT),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        ready: list[str] = []
        leaders: list[str] = []
        deadline = time.monotonic() + 400  # a loaded machine starts three processes slowly
        while time.monotonic() < deadline:
            assert proc.poll() is None, log_path.read_text(errors="replace")
            text = log_path.read_text(errors="replace")
            ready = re.findall(r"web process (\d+) ready \(scheduler: contends", text)
            leaders = re.findall(r"process (\d+) holds the scheduler lock", text)
            if len(ready) == 3 and leaders:
                break
            time.sleep(0.2)
        assert len(ready) == 3, text
        workers = _children(proc.pid)
        assert {int(p) for p in ready} <= workers  # three processes under the supervisor
        time.sleep(2)  # the others have tried the lock by now (each tries once at start)
        text = log_path.read_text(errors="replace")
        leaders = re.findall(r"process (\d+) holds the scheduler lock", text)
        assert len(leaders) == 1 and leaders[0] in ready, text
        # every process answers on the one port
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


ONE_WORKER = ["--workers", "1", "--no-scheduler"]


def test_the_address_is_printed_once_the_server_answers_on_it(tmp_path: Path) -> None:
    """``crm serve`` printed its address before uvicorn had bound the port and loaded the
    app: a user opening it at once got "connection refused". Now the line comes when the
    server answers — so a request sent the moment it appears gets the page."""
    port = free_port()
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "CRM_DATABASE_URL": get_engine().url.render_as_string(hide_password=False),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--port", str(port), *ONE_WORKER],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while f"http://127.0.0.1:{port}/" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.05)
        r = httpx.get(f"http://127.0.0.1:{port}/login", timeout=30)
        assert r.status_code == 200 and "<form" in r.text
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
