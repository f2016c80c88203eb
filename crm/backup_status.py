"""What an administrator needs to know about backups: the nightly job's recent runs and the
backup files on disk (newest first, with their checksum files), and whether the last good
backup is too old. Reads only; backing up and restoring stay with ``crm backup`` / ``crm
restore`` (crm/backup/)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from crm.authz import require_admin
from crm.backup import checksum_file
from crm.config import ROOT
from crm.models.accounts import User
from crm.models.outbox import JobRun
from crm.types import utcnow

JOB = "nightly_backup"
STALE_AFTER = timedelta(hours=36)  # a nightly backup missed once is already worth a look


@dataclass(frozen=True)
class BackupFile:
    name: str
    size: int
    modified: datetime
    checksum: bool  # its .sha256 beside it (written only after the copy completed)


@dataclass
class BackupStatus:
    folder: str
    files: list[BackupFile] = field(default_factory=list)
    runs: list[JobRun] = field(default_factory=list)
    last_good: datetime | None = None
    stale: bool = True


def backup_folder(settings: Any) -> Path:
    return Path(settings.backup_dir) if settings.backup_dir else ROOT / "var" / "backups"


def backup_status(
    session: Session, actor: User, settings: Any, now: datetime | None = None
) -> BackupStatus:
    """The backups an administrator can see (admins only)."""
    require_admin(actor)
    now = now or utcnow()
    folder = backup_folder(settings)
    files = []
    if folder.is_dir():
        for p in folder.glob("crm-*"):
            if p.suffix == ".sha256" or not p.is_file() or p.name.endswith(".partial"):
                continue
            st = p.stat()
            files.append(
                BackupFile(
                    name=p.name,
                    size=st.st_size,
                    modified=datetime.fromtimestamp(st.st_mtime, UTC),
                    checksum=checksum_file(p).exists(),
                )
            )
    files.sort(key=lambda f: f.modified, reverse=True)
    runs = list(
        session.scalars(
            select(JobRun).where(JobRun.job == JOB).order_by(JobRun.started_at.desc()).limit(10)
        )
    )
    good = [f.modified for f in files if f.checksum]
    good += [r.finished_at or r.started_at for r in runs if r.status == "ok"]
    last_good = max(good) if good else None
    return BackupStatus(
        folder=str(folder),
        files=files,
        runs=runs,
        last_good=last_good,
        stale=last_good is None or now - last_good > STALE_AFTER,
    )
