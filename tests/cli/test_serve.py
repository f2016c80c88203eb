"""``crm serve`` runs several web processes on one database (the test's SQLite file, or
PostgreSQL when CRM_TEST_DATABASE_URL is set), and exactly one of them runs the scheduler."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from cli.main import _bind
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


class _Healthy(BaseHTTPRequestHandler):
    """Another program on the port, answering every path (``/healthz`` too) with 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


HOLDER = """
import sys
from http.server import HTTPServer
sys.path.insert(0, {root!r})
from tests.cli.test_serve import _Healthy
server = HTTPServer(("127.0.0.1", {port}), _Healthy)
print("holding", flush=True)
server.serve_forever()
"""


@pytest.mark.parametrize("command", ["serve", "start"])
def test_a_port_in_use_fails_with_one_line_and_never_prints_the_address(
    tmp_path: Path, command: str
) -> None:
    """Another process already answering on the port (its ``/healthz`` gives 200): ``crm
    serve`` printed the address — the readiness check heard the other program — and then died
    with uvicorn's bind error. Now the port is bound before anything else: one line saying the
    port is in use, exit code 1, no address, no traceback; ``crm start`` fails before it
    migrates or loads anything into its database."""
    port = free_port()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(root=str(ROOT), port=port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
        db = tmp_path / "fresh.db"
        env = {
            **os.environ,
            "CRM_DATABASE_URL": f"sqlite:///{db}",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        args = ["--port", str(port)] + (ONE_WORKER if command == "serve" else [])
        out = subprocess.run(
            [sys.executable, "-m", "cli.main", command, *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        text = out.stdout + out.stderr
        assert out.returncode == 1, text
        assert f"http://127.0.0.1:{port}/" not in text
        assert "Traceback" not in text and "Errno" not in text
        lines = [line for line in text.splitlines() if line.strip()]
        assert len(lines) == 1 and f"端口 {port} 已被占用" in lines[0], text
        assert "in use" in lines[0]
        assert not db.exists()  # nothing migrated, no demo loaded
        # the other program is untouched
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
    finally:
        holder.terminate()
        holder.wait(30)
        if holder.stdout is not None:
            holder.stdout.close()


def test_a_port_just_freed_by_a_stopped_server_is_taken_again(tmp_path: Path) -> None:
    """The bind keeps uvicorn's SO_REUSEADDR: a server stopped a moment ago (its connections in
    TIME_WAIT) does not block the next ``crm serve`` on its port."""
    port = free_port()
    with socket.create_server(("127.0.0.1", port), reuse_port=False) as first:
        # a connection closed by the server side leaves the port in TIME_WAIT
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = first.accept()
        conn.close()
        client.close()
    sock = _bind("127.0.0.1", port)
    try:
        assert sock.getsockname() == ("127.0.0.1", port)
    finally:
        sock.close()


def _serve_process(tmp_path: Path, args: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    """``python -m cli.main ARGS`` on the test's database, its output in a log file."""
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "CRM_DATABASE_URL": get_engine().url.render_as_string(hide_password=False),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli.main", *args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, log_path


def test_port_0_and_an_ipv6_host_print_an_address_that_opens(tmp_path: Path) -> None:
    """``--port 0`` serves on a port the system picks, and the line names that port (it named
    0); an IPv6 host is written in brackets, as a URL needs (``http://::1:8000/`` was printed).
    ATTACK12 F3, F4."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    proc, log_path = _serve_process(
        tmp_path, ["serve", *("--host", "::1", "--port", "0"), *ONE_WORKER]
    )
    try:
        deadline = time.monotonic() + 300
        printed = None
        while printed is None:
            printed = re.search(r"http://\[::1\]:(\d+)/", log_path.read_text(errors="replace"))
            assert proc.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.05)
        port = int(printed.group(1))
        assert port != 0
        r = httpx.get(f"http://[::1]:{port}/login", timeout=30)
        assert r.status_code == 200 and "<form" in r.text
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
