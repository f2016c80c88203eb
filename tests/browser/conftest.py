"""Shared browser-test helpers: a CSP-violation watch for any Playwright page.

Use ``violations = watch_csp(page)`` right after creating a page (before the first goto), and
``assert_no_csp_violations(violations)`` at the end — or the ``csp_watch`` fixture, which does
both for every page passed to its ``add``. It listens to the DOM's
``securitypolicyviolation`` events (reported by the browser itself, whatever the console says)
and to console messages naming the Content Security Policy.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

CHROMIUM = "/usr/bin/chromium"  # Debian's; the machine cannot download Playwright's browsers
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def base_url(database: str) -> Iterator[str]:
    """The real app under uvicorn on a free port, against this worker's test database."""
    from server.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def require_chromium() -> None:
    """A missing browser is a failure, never a skip."""
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install chromium"


_INIT = """
document.addEventListener('securitypolicyviolation', function (e) {
  console.error('CSP-VIOLATION ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline') +
                ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def watch_csp(page: Any) -> list[str]:
    """Start collecting CSP violations on ``page``; returns the (growing) list."""
    found: list[str] = []
    page.add_init_script(_INIT)
    page.on(
        "console",
        lambda m: (
            found.append(m.text)
            if ("CSP-VIOLATION" in m.text or "Content Security Policy" in m.text)
            else None
        ),
    )
    return found


def assert_no_csp_violations(found: list[str]) -> None:
    assert not found, "CSP violations in the browser:\n  " + "\n  ".join(found)


class _CspWatch:
    def __init__(self) -> None:
        self._lists: list[list[str]] = []

    def add(self, page: Any) -> Any:
        self._lists.append(watch_csp(page))
        return page

    def all(self) -> list[str]:
        return [v for lst in self._lists for v in lst]


@pytest.fixture
def csp_watch() -> Iterator[_CspWatch]:
    """``csp_watch.add(page)`` for each page; the test fails at teardown on any violation."""
    w = _CspWatch()
    yield w
    assert_no_csp_violations(w.all())
