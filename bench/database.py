"""The benchmark's database: a fresh or reused SQLite file or PostgreSQL database, migrated, with
the policy pack and the demo data at a scale."""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from bench.harness import Options

OFFICER = "officer001"


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


@contextlib.contextmanager
def scratch_copy(url: str, workdir: Path, log: Callable[[str], None]) -> Iterator[str]:
    """A copy of the database, removed on leaving: what the mixed workload writes (contacts it
    logs, sessions of its logins) must not stay in a kept database, or every run would change
    the data the next one measures. SQLite: the online backup API into ``workdir`` (a consistent
    copy of the pages, the same layout). PostgreSQL: ``CREATE DATABASE … TEMPLATE … STRATEGY
    FILE_COPY`` (the same files, statistics and visibility maps), which needs no other session
    on the source: close the floor's connection first."""
    t0 = time.perf_counter()
    if _is_sqlite(url):
        src_path = make_url(url).database or ""
        # named after the whole path: two files of one name (--against-database) get two copies
        tag = hashlib.sha1(str(Path(src_path).resolve()).encode()).hexdigest()[:8]
        path = workdir / f"mix-{tag}-{Path(src_path).name}"
        src, dst = sqlite3.connect(src_path), sqlite3.connect(path)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        copy = _sqlite_url(path)
    else:
        u = make_url(url)
        name = f"{u.database}_mix"
        admin = create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for attempt in range(12):  # another session on the source: wait a minute for it
                try:
                    conn.execute(
                        text(f'CREATE DATABASE "{name}" TEMPLATE "{u.database}" STRATEGY FILE_COPY')
                    )
                    break
                except DBAPIError as exc:
                    if "being accessed by other users" not in str(exc) or attempt == 11:
                        raise
                    log(f"{u.database} has another session: the copy waits for it")
                    time.sleep(5)
        admin.dispose()
        copy = u.set(database=name).render_as_string(hide_password=False)
    log(
        f"the mixed workload writes: it runs on a copy, {_safe(copy)} "
        f"({time.perf_counter() - t0:.1f} s to copy), removed afterwards"
    )
    try:
        yield copy
    finally:
        if _is_sqlite(copy):
            for suffix in ("", "-wal", "-shm", ".inuse.lock"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            _drop_postgres(copy)


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


def _has_schema(url: str) -> bool:
    engine = create_engine(url)
    try:
        return "alembic_version" in sa_inspect(engine).get_table_names()
    finally:
        engine.dispose()


def prepare_database(opts: Options, workdir: Path) -> tuple[str, dict[str, Any]]:
    """A migrated database with the policy pack and the demo data; returns (url, load info)."""
    from crm import migrate
    from crm.db import make_engine
    from crm.policy.pack import read_pack
    from crm.policy.service import load_pack

    info: dict[str, Any] = {"reused": False}
    if opts.reuse and "://" in opts.reuse and _is_sqlite(opts.reuse):  # a SQLite URL: a file
        url = opts.reuse
        database = make_url(url).database
        if database:
            Path(database).resolve().parent.mkdir(parents=True, exist_ok=True)
    elif opts.reuse and "://" in opts.reuse:
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
    if opts.app_root and _has_schema(url):
        # another checkout is served: the database stays at the schema that checkout was
        # measured on (an older app may not run on a newer schema, e.g. an index it needs)
        opts.log(f"{_safe(url)}: not migrated (the app is served from {opts.app_root})")
    else:
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
        # the per-officer-week rollups as a running app keeps them (its job fills the closed
        # weeks every 15 minutes; a reused database may predate them)
        from crm.summaries.fill import fill

        t0 = time.perf_counter()
        fill(engine)
        info["summaries_s"] = round(time.perf_counter() - t0, 2)
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:  # fresh statistics for the planner
                conn.exec_driver_sql("PRAGMA optimize")
        else:  # fresh statistics and visibility maps (index-only scans), as crm migrate leaves them
            from crm.migrate import vacuum_analyze

            vacuum_analyze(url)
    finally:
        engine.dispose()
    return url, info


def _password(opts: Options) -> str:
    from crm.demo.password import DEMO_PASSWORD

    return opts.password or DEMO_PASSWORD


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
