"""Test set-up: one database per xdist worker, built by Alembic; tables emptied after each test.

SQLite by default; PostgreSQL when CRM_TEST_DATABASE_URL names a server database
(``postgresql+psycopg://user@host:port/name``): each worker then gets its own fresh database.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# real SMTP and group-robot servers for the scheduled-message tests (fixtures smtp, robot)
pytest_plugins = ["tests.servers"]

# cheap hashing in tests; production uses the settings' defaults
os.environ.setdefault("CRM_ARGON2_TIME_COST", "1")
os.environ.setdefault("CRM_ARGON2_MEMORY_KIB", "64")
os.environ.setdefault("CRM_SCHEDULER_ENABLED", "false")
# the tests' robots listen on this host (tests/servers.py); the SSRF tests set it empty
os.environ.setdefault("CRM_WEBHOOK_ALLOW_NETWORKS", "127.0.0.0/8")
os.environ.setdefault("CRM_SECRET_KEY", "test-secret-key-0123456789abcdef-0123456789")

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_TMP = Path(tempfile.mkdtemp(prefix=f"crm-test-{WORKER}-"))


def _database_url() -> str:
    base = os.environ.get("CRM_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{_TMP / 'test.db'}"
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"{url.database}_{WORKER}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


DATABASE_URL = _database_url()
os.environ["CRM_DATABASE_URL"] = DATABASE_URL

from crm.config import get_settings  # noqa: E402

get_settings.cache_clear()

from crm import migrate  # noqa: E402
from crm.db import get_engine, reset_engine  # noqa: E402
from crm.models import metadata  # noqa: E402

# tables the policy pack fills: kept between tests
KEEP = {
    "cluster",
    "chain_link",
    "park",
    "park_cluster",
    "plan_target",
    "policy_pack",
    "alembic_version",
    # the per-process caches' versions: their triggers keep them, a row per cache (0026)
    "cache_version",
}


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[str]:
    """Build the schema with Alembic (which also tests the migrations) and load the pack."""
    reset_engine()
    migrate.upgrade(DATABASE_URL)
    from crm.db import session_scope
    from crm.policy.pack import read_pack
    from crm.policy.service import load_pack

    with session_scope() as s:
        load_pack(s, read_pack())
    _clean()
    yield DATABASE_URL
    reset_engine()


def _clean() -> None:
    engine = get_engine()
    with engine.begin() as conn:
        # DELETE, not TRUNCATE … CASCADE: a cascade would empty the policy tables that refer
        # to departments. Firms from the pack go too; tests that want them load the pack.
        for t in reversed(metadata.sorted_tables):
            if t.name == "audit_record":
                # append-only by trigger: lifted and put back inside this transaction
                from crm.audit.immutability import purge_for_tests

                purge_for_tests(conn)
            elif t.name not in KEEP:
                conn.execute(t.delete())
        # a test that emptied the whole database (an "empty instance", a restore) took the
        # caches' version rows too: put them back, as the migration made them
        from sqlalchemy import text

        from crm.db import CACHES

        have = set(conn.execute(text("SELECT name FROM cache_version")).scalars())
        for name in CACHES:
            if name not in have:
                conn.execute(
                    text("INSERT INTO cache_version (name, n) VALUES (:name, 1)"), {"name": name}
                )


@pytest.fixture(autouse=True)
def _clean_after(database: str) -> Iterator[None]:
    yield
    _clean()


@pytest.fixture
def session(database: str):  # type: ignore[no-untyped-def]
    """A session for arranging and checking; commit explicitly to make rows visible to the app."""
    from sqlmodel import Session

    with Session(get_engine(), expire_on_commit=False) as s:
        yield s


@pytest.fixture
def output_dir() -> Path:
    """Where tests leave artefacts (screenshots, exports): test-output/ in the project."""
    d = Path(__file__).resolve().parent.parent / "test-output"
    d.mkdir(exist_ok=True)
    return d
