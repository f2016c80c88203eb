"""Checking a backup without touching the database (``crm backup --verify``, ``crm restore
--check``, and the first step of every restore): refused when it is not a whole CRM backup of
this kind of database at a migration this code knows — empty, foreign, truncated, bit-flipped
(checksum, structure, ``alembic_version``), a schema other than its migration's, rows that
break its foreign keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from crm.backup.postgres import pgdump_revision
from crm.backup.revisions import known_revision
from crm.backup.sqlite import check_sqlite_file
from crm.backup.tools import checksum_file, pg_args, pg_tool, run_tool, sha256
from crm.errors import ValidationFailed
from crm.i18n import _l

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


@dataclass
class Checked:
    kind: str  # "sqlite" | "pgdump"
    revision: str | None  # known once the file itself is read (SQLite) or restored (PostgreSQL)
    checksum: bool  # a .sha256 beside the file matched


def check_checksum(source: Path) -> bool:
    side = checksum_file(source)
    if not side.exists():
        return False
    want = side.read_text().split()[0:1]
    if not want or want[0] != sha256(source):
        raise ValidationFailed(
            _l("备份文件与其校验和（%(name)s）不符：文件已损坏或被改动", name=side.name)
        )
    return True


def verify(url: str, source: Path) -> Checked:
    """Check a backup without touching the database: refuse what cannot be restored."""
    if not source.exists():
        raise ValidationFailed(_l("没有备份文件：%(path)s", path=str(source)))
    if not source.is_file():
        raise ValidationFailed(_l("这不是一个文件（是目录？）：%(path)s", path=str(source)))
    if source.stat().st_size == 0:
        raise ValidationFailed(_l("备份文件是空的：%(path)s", path=str(source)))
    with source.open("rb") as f:
        head = f.read(16)
    sqlite_db = make_url(url).get_backend_name() == "sqlite"
    if sqlite_db and not head.startswith(SQLITE_MAGIC):
        if head.startswith(PGDUMP_MAGIC):
            raise ValidationFailed(
                _l("这不是SQLite数据库文件（是PostgreSQL备份）：%(name)s", name=source.name)
            )
        raise ValidationFailed(_l("这不是SQLite数据库文件：%(name)s", name=source.name))
    if not sqlite_db and not head.startswith(PGDUMP_MAGIC):
        raise ValidationFailed(_l("这不是pg_dump备份（custom格式）：%(name)s", name=source.name))
    checksum = check_checksum(source)
    if sqlite_db:
        return Checked("sqlite", check_sqlite_file(source), checksum)
    _args, env = pg_args(url)
    run_tool([pg_tool("pg_restore"), "--list", str(source)], env, "pg_restore --list")
    return Checked("pgdump", known_revision(pgdump_revision(source, env)), checksum)
