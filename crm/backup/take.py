"""Taking a backup: SQLite through its online backup API, PostgreSQL through ``pg_dump``
(custom format), written to ``<target>.partial`` and renamed only when complete, with a
``<target>.sha256`` beside it; a failed ``pg_dump`` leaves nothing behind. The nightly job's
backup and its retention."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from crm.backup.tools import checksum_file, pg_args, pg_tool, run_tool, sha256
from crm.config import ROOT
from crm.errors import ValidationFailed
from crm.i18n import _l


def backup(url: str, target: Path) -> Path:
    """Write a consistent copy of the database at ``url`` to ``target`` (while it is in use)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    u = make_url(url)
    try:
        if u.get_backend_name() == "sqlite":
            if not u.database or not Path(u.database).exists():
                raise ValidationFailed(_l("没有SQLite数据库：%(path)s", path=u.database))
            src = sqlite3.connect(u.database)
            dst = sqlite3.connect(str(partial))
            try:
                src.backup(dst)  # page-by-page online copy; readers and writers may go on
                dst.execute("PRAGMA journal_mode=DELETE")
            except sqlite3.Error as exc:
                raise ValidationFailed(_l("备份失败：%(error)s", error=str(exc)[:300])) from exc
            finally:
                dst.close()
                src.close()
        else:
            args, env = pg_args(url)
            run_tool(
                [pg_tool("pg_dump"), "--format=custom", "--no-owner", "-f", str(partial), *args],
                env,
                "pg_dump",
            )
        if not partial.exists() or partial.stat().st_size == 0:
            raise ValidationFailed(_l("备份文件是空的"))
        digest = sha256(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    checksum_file(target).write_text(f"{digest}  {target.name}\n")
    return target


@dataclass(frozen=True)
class NightlyDone:
    """What a nightly backup did (the job's run row says it in the reader's language)."""

    file: Path
    size: int
    removed: int
    kept: int

    def __str__(self) -> str:  # the log's line
        return f"{self.file} ({self.size:,} bytes); {self.removed} old removed, {self.kept} kept"


def nightly(settings: Any) -> NightlyDone:
    """One scheduled backup into ``backup_dir`` (default var/backups), then the oldest
    ``crm-*`` backups beyond ``backup_keep`` removed. Returns what it did, for the job's row."""

    url = settings.database_url
    folder = Path(settings.backup_dir) if settings.backup_dir else ROOT / "var" / "backups"
    ext = "db" if make_url(url).get_backend_name() == "sqlite" else "dump"
    target = backup(url, folder / f"crm-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.{ext}")
    keep = max(int(settings.backup_keep), 1)
    old = sorted(folder.glob(f"crm-*.{ext}"))[:-keep]
    for p in old:
        p.unlink(missing_ok=True)
        checksum_file(p).unlink(missing_ok=True)
    return NightlyDone(target, target.stat().st_size, len(old), keep)
