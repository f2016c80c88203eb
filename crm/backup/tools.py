"""What a backup and a restore run outside Python: the PostgreSQL client tools (found on the
PATH or under /usr/lib/postgresql, their failures turned into refusals), and a backup file's
``.sha256`` beside it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from crm.errors import ValidationFailed
from crm.i18n import _l


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / name).exists():
            return str(d / name)
    raise ValidationFailed(_l("找不到 %(name)s：请安装PostgreSQL客户端", name=name))


def pg_args(url: str, database: str | None = None) -> tuple[list[str], dict[str, str]]:
    u = make_url(url)
    args = ["-h", u.host or "localhost", "-p", str(u.port or 5432), "-U", u.username or "postgres"]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = u.password
    return [*args, "-d", database or u.database or "postgres"], env


def run_tool(cmd: list[str], env: dict[str, str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ValidationFailed(
            _l("%(what)s 无法运行：%(error)s", what=what, error=str(exc)[:300])
        ) from exc
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise ValidationFailed(
            _l("%(what)s 失败：%(error)s", what=what, error=" | ".join(tail)[:500])
        )


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")
