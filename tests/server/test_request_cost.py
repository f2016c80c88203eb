"""What every request pays, done once where it can be and afresh where it must be: templates
are compiled once per process in production (re-read when their file changes only in
development), while the signed-in session is read from the database on every request, so a
session ended or a user deactivated by another process is refused on its next request."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import web.render
from crm.config import get_settings
from crm.models.activities import Activity
from server.app import GC_YOUNG_THRESHOLD, create_app
from tests.factories import make_department, make_firm, make_user
from tests.web.conftest import hx, log_in

_ROOT = Path(__file__).resolve().parents[2]


def _in_another_process(code: str) -> None:
    """Run ``code`` in a separate Python process on the test database (its own engine)."""
    env = {**os.environ, "CRM_DATABASE_URL": os.environ["CRM_DATABASE_URL"]}
    prelude = "from crm.db import session_scope\nfrom sqlalchemy import update\n"
    subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=_ROOT, env=env, check=True, timeout=120
    )


def _refused(client: TestClient) -> bool:
    r = client.get("/account", follow_redirects=False)
    return r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_session_ended_elsewhere_is_refused_at_once(session) -> None:
    officer = make_user(session, "officer", make_department(session))
    firm = make_firm(session, "惠普")
    session.commit()
    with TestClient(create_app()) as client:
        log_in(client, officer)
        assert client.get("/account").status_code == 200
        _in_another_process(
            "from crm.accounts.sessions import end_sessions\n"
            f"with session_scope() as s:\n    end_sessions(s, {officer.id})\n"
        )
        assert _refused(client)

        # a write is refused too (its session is read in the worker thread that takes the
        # write lock), and nothing is saved
        token = log_in(client, officer)
        _in_another_process(
            "from crm.accounts.sessions import end_sessions\n"
            f"with session_scope() as s:\n    end_sessions(s, {officer.id})\n"
        )
        r = client.post(
            f"/firms/{firm.id}/activities",
            headers=hx(token),
            data={"kind": "call", "occurred_at": "2026-11-20T10:30", "summary": "电话沟通"},
        )
        assert r.status_code == 401 and r.headers["HX-Redirect"].startswith("/login")
        assert session.scalar(select(func.count()).select_from(Activity)) == 0


def test_a_user_deactivated_elsewhere_is_refused_at_once(session) -> None:
    officer = make_user(session, "officer", make_department(session))
    session.commit()
    with TestClient(create_app()) as client:
        log_in(client, officer)
        assert client.get("/account").status_code == 200
        # only the user's row changes: the session itself is still open
        _in_another_process(
            "from crm.models.accounts import User\n"
            "with session_scope() as s:\n"
            f"    s.execute(update(User).where(User.id == {officer.id}).values(is_active=False))\n"
        )
        assert _refused(client)


@pytest.fixture
def probe_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A templates folder of one template, and environments built afresh from it."""
    (tmp_path / "probe.html").write_text("one", encoding="utf-8")
    monkeypatch.setattr(web.render, "TEMPLATES", tmp_path)
    monkeypatch.setattr(web.render, "_ENVS", {})
    yield tmp_path / "probe.html"
    get_settings.cache_clear()


def _edit(path: Path, text: str) -> None:
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, (stat.st_atime + 10, stat.st_mtime + 10))  # a later modification time


@pytest.mark.parametrize("development", [False, True])
def test_templates_are_compiled_once_in_production_and_reread_in_development(
    probe_templates: Path, monkeypatch: pytest.MonkeyPatch, development: bool
) -> None:
    monkeypatch.setenv("CRM_DEVELOPMENT", "true" if development else "false")
    get_settings.cache_clear()
    env = web.render.templates_for("zh").env
    first = env.get_template("probe.html")
    assert first.render() == "one"
    _edit(probe_templates, "two")
    again = env.get_template("probe.html")
    if development:
        assert again.render() == "two"
    else:
        assert again is first and again.render() == "one"
    # the environment itself is made once per language, not per request
    assert web.render.templates_for("zh").env is env


def test_the_web_process_collects_young_cycles_less_often(session) -> None:
    """A running app raises the cyclic collector's young-generation threshold (server.app's
    lifespan): at Python's default (700) a page's short-lived rows set off a collection every
    other request."""
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, *before[1:])
        with TestClient(create_app()):
            assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > 700
    finally:
        gc.set_threshold(*before)
