"""Backups that restore: SQLite through its online backup API, PostgreSQL through pg_dump."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from crm.errors import ValidationFailed


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    raise ValidationFailed(f"{name} not found: install the PostgreSQL client tools")


def _pg_args(url: str) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "localhost", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return [*args, "-d", u.database or "postgres"], env


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``target`` (while it is in use)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or not Path(u.database).exists():
            raise ValidationFailed(f"no SQLite database at {u.database}")
        src = sqlite3.connect(u.database)
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)  # page-by-page online copy; readers and writers may go on
        finally:
            dst.close()
            src.close()
        return target
    args, env = _pg_args(url)
    subprocess.run(
        [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "-f", str(target), *args],
        check=True,
        env=env,
        capture_output=True,
    )
    return target


def restore(url: str, source: Path) -> None:
    """Replace the database at ``url`` with the backup ``source`` (stop the app first)."""
    if not source.exists():
        raise ValidationFailed(f"no backup file {source}")
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        check = sqlite3.connect(str(source))
        try:
            ok = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
        if ok != "ok":
            raise ValidationFailed(f"the backup is damaged: {ok}")
        db = Path(u.database or "")
        for suffix in ("-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        src = sqlite3.connect(str(source))
        dst = sqlite3.connect(str(db))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return
    args, env = _pg_args(url)
    subprocess.run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            *args,
            str(source),
        ],
        check=True,
        env=env,
        capture_output=True,
    )
