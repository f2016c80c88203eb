"""The app under test: uvicorn in a subprocess on a free port (one web process or several), and
clients logged in through the web form and the API."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


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
def serve(
    url: str, workdir: Path, workers: int = 1, app_root: Path | None = None
) -> Iterator[Server]:
    """uvicorn in a subprocess on 127.0.0.1, as `crm serve --no-scheduler --workers N` runs the
    app; ``app_root`` serves another checkout of the app (to compare versions on one database)."""
    port = _free_port()
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_RUN_SCHEDULER": "0",
        "CRM_SCHEDULER_ENABLED": "false",
    }
    log_path = workdir / f"server-{port}.log"
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
            "--workers",
            str(workers),
            "--timeout-worker-healthcheck",
            "60",
        ],
        cwd=app_root or ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(proc, f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + 600  # a loaded machine starts slowly
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the server stopped:\n" + server.log_tail())
            try:
                if httpx.get(server.base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer in 600 s:\n" + server.log_tail())
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
