"""Import runs: an upload is stored, a worker imports it, the page polls its progress, and its
report stays in the import history.

- :func:`create_run` checks and stores the upload (``queued``); nothing is read yet.
- :func:`claim_next` makes the oldest queued run ``running`` — at most one at a time (a unique
  partial index on ``status = 'running'``): the office's imports form one queue.
- :func:`execute` imports it in one transaction, **all or nothing per file** (with "skip the
  invalid rows", all the valid rows or none). The run's final status and report are written in
  that same transaction, so "done" and the imported rows commit together. A process killed in
  the middle commits nothing: the run stays ``running`` under a dead worker until
  :func:`recover_stale` marks it ``failed`` (the file is kept; :func:`retry` queues it again).
- The run's report, its error and the rejected rows' workbook: :mod:`crm.imports.run_report`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from crm.authz import can_see_import_run, import_run_filter, require_manager
from crm.db import get_engine
from crm.errors import CRMError, NotFound, ValidationFailed
from crm.i18n import Message, _l
from crm.imports import progress
from crm.imports.common import ImportReport
from crm.imports.reader import check_type
from crm.imports.run_report import encode, report_json, report_of
from crm.imports.service import IMPORTERS, run_import
from crm.models.accounts import User
from crm.models.imports import ImportRun
from crm.types import stored_id, utcnow

log = logging.getLogger(__name__)

MAX_UPLOAD = 10 * 1024 * 1024
MODES = ("check", "all", "skip")
STALE_AFTER = timedelta(minutes=30)  # a run on another machine with no sign of life this long
WRITE_EVERY = 1.0  # seconds between two progress writes


# -- creating, claiming, running -----------------------------------------------------------------


def create_run(
    session: Session,
    actor: User,
    kind: str,
    filename: str,
    data: bytes,
    *,
    mode: str = "check",
    update_matching: bool = False,
) -> ImportRun:
    """Store an upload to be imported (checked: size, type; nothing parsed here)."""
    require_manager(actor)
    if kind not in IMPORTERS:
        raise ValidationFailed(_l("未知导入类型：%(kind)s", kind=kind[:20]), field="kind")
    if mode not in MODES:
        raise ValidationFailed(_l("未知导入方式：%(mode)s", mode=mode[:20]), field="mode")
    name = Path(filename or "").name.strip()[:200]
    if not name:
        raise ValidationFailed(_l("请选择文件"), field="file")
    if len(data) > MAX_UPLOAD:
        raise ValidationFailed(_l("文件超过10MB"), field="file")
    if not data:
        raise ValidationFailed(_l("文件是空的"), field="file")
    if check_type(name) == "xlsx" and not data.startswith(b"PK\x03\x04"):
        raise ValidationFailed(_l("这不是一个Excel（.xlsx）文件"), field="file")
    run = ImportRun(
        user_id=stored_id(actor),
        kind=kind,
        filename=name,
        size=len(data),
        mode=mode,
        update_matching=update_matching and kind != "firms",
        data=data,
    )
    session.add(run)
    session.flush()
    return run


def worker_name() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def has_queued(engine: Engine | None = None) -> bool:
    """Is any run waiting (or one whose worker died: a worker would mark it failed)?"""
    with Session(engine or get_engine()) as s:
        return (
            s.scalar(
                select(ImportRun.id).where(ImportRun.status.in_(("queued", "running"))).limit(1)
            )
            is not None
        )


def _take(s: Session, run_id: int) -> bool | None:
    """Make the run ``running`` if it is still queued: True, False (not queued any more), None
    (another run is running — anywhere: the unique index refuses a second)."""
    now = utcnow()
    try:
        # an UPDATE answers a CursorResult (its rowcount); Session.execute says Result
        result = cast(
            "CursorResult[Any]",
            s.execute(
                update(ImportRun)
                .where(ImportRun.id == run_id, ImportRun.status == "queued")
                .values(
                    status="running",
                    phase="reading",
                    done_rows=0,
                    worker=worker_name(),
                    started_at=now,
                    heartbeat_at=now,
                    error=None,
                )
            ),
        )
        done = result.rowcount
        s.commit()
    except IntegrityError:
        s.rollback()
        return None
    return bool(done)


def claim_next(engine: Engine | None = None) -> int | None:
    """Make the oldest queued run ``running`` for this process; None when there is none or
    another run is running."""
    engine = engine or get_engine()
    with Session(engine) as s:
        recover_stale(s)
        s.commit()
        queued = s.scalars(
            select(ImportRun.id).where(ImportRun.status == "queued").order_by(ImportRun.id)
        ).all()
        for run_id in cast(list[int], queued):  # stored rows' ids: never None
            took = _take(s, run_id)
            if took is None:
                return None
            if took:
                return run_id
    return None


def claim(run_id: int, engine: Engine | None = None) -> bool:
    """Make this queued run ``running`` for this process (``crm import`` runs the run it
    queued itself); False when it is no longer queued or another run is running."""
    engine = engine or get_engine()
    with Session(engine) as s:
        recover_stale(s)
        s.commit()
        return bool(_take(s, run_id))


# this process's runs: id → (phase, done, total), fresher than the database while importing
_live: dict[int, tuple[str, int, int | None]] = {}
_live_lock = threading.Lock()


def live_progress(run_id: int) -> tuple[str, int, int | None] | None:
    with _live_lock:
        return _live.get(run_id)


class _Reporter:
    """Keeps the run's progress in memory and, while the import has not started writing, in
    the database too (at most once a second; the page may be served by another process)."""

    def __init__(self, engine: Engine, run_id: int, echo: progress.Reporter | None = None) -> None:
        self.engine, self.run_id, self.echo = engine, run_id, echo
        self.last = 0.0
        self.phase = ""
        self.writing = False

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        with _live_lock:
            _live[self.run_id] = (phase, done, total)
        if self.echo is not None:
            self.echo(phase, done, total)
        if self.writing:
            return
        now = time.monotonic()
        if phase == self.phase and now - self.last < WRITE_EVERY and phase != "importing":
            return
        self.last, self.phase = now, phase
        values: dict[str, Any] = {"phase": phase, "done_rows": done, "heartbeat_at": utcnow()}
        if total is not None:
            values["total"] = total
        try:
            with Session(self.engine) as s:
                s.execute(update(ImportRun).where(ImportRun.id == self.run_id).values(**values))
                s.commit()
        except Exception:  # progress is best effort: never fail the import for it
            log.warning("import run %s: progress not written", self.run_id, exc_info=True)
        # from the first write of the import on, its transaction holds SQLite's write lock
        self.writing = phase == "importing"


def _finish(
    session: Session,
    run_id: int,
    status: str,
    rep: ImportReport | None = None,
    error: Message | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": status,
        "phase": None,
        "finished_at": utcnow(),
        "error": json.dumps(encode(error), ensure_ascii=False) if error is not None else None,
    }
    if status != "failed" and not (rep is not None and rep.held):
        # kept only to run a failed import again, or to import held rows anyway
        values["data"] = None
    if rep is not None:
        values.update(
            total=rep.total,
            imported=rep.imported if rep.applied or rep.dry_run else 0,
            updated=rep.updated if rep.applied or rep.dry_run else 0,
            unchanged=rep.unchanged,
            rejected=rep.rejected_rows,
            applied=rep.applied,
            report=report_json(rep),
        )
    session.execute(update(ImportRun).where(ImportRun.id == run_id).values(**values))


FAILED = _l("导入中途出错，没有导入任何数据；可以重新运行")
INTERRUPTED = _l("导入时服务器停止了，没有导入任何数据；可以重新运行")


def execute(
    run_id: int, engine: Engine | None = None, echo: progress.Reporter | None = None
) -> str:
    """Import a claimed run; returns its final status. ``echo`` is told the progress too
    (``crm import`` shows it on the terminal)."""
    engine = engine or get_engine()
    with Session(engine) as s:
        run = s.get(ImportRun, run_id)
        if run is None or run.status != "running":
            return run.status if run is not None else "missing"
        job = (run.kind, run.filename, run.data or b"", run.mode, run.update_matching)
        user_id = run.user_id
        confirmed = json.loads(run.confirmed) if run.confirmed else []
    kind, filename, data, mode, update_matching = job
    extra: dict[str, Any] = {"confirmed": confirmed} if kind == "firms" else {}
    try:
        with (
            progress.reporting(_Reporter(engine, run_id, echo)),
            Session(engine, expire_on_commit=False) as s,
        ):
            actor = s.get(User, user_id)
            try:
                if actor is None:
                    raise NotFound(_l("用户不存在"))
                rep = run_import(
                    s,
                    actor,
                    kind,
                    data,
                    filename,
                    dry_run=mode == "check",
                    skip_invalid=mode == "skip",
                    update_matching=update_matching,
                    **extra,
                )
            except CRMError as exc:  # the file refused, or the user may no longer import
                s.rollback()
                _finish(s, run_id, "refused", error=exc.message)
                s.commit()
                return "refused"
            if not rep.applied:
                s.rollback()
            # with the imported rows, in their transaction: both commit or neither does
            _finish(s, run_id, "done", rep)
            s.commit()
            return "done"
    except Exception:
        log.exception("import run %s failed", run_id)
        with Session(engine) as s:
            _finish(s, run_id, "failed", error=FAILED)
            s.commit()
        return "failed"
    finally:
        with _live_lock:
            _live.pop(run_id, None)


def drain(engine: Engine | None = None) -> int:
    """Run queued imports one after another until none is left (or another process runs one:
    it drains the queue after its own). Returns how many ran here."""
    n = 0
    while (run_id := claim_next(engine)) is not None:
        execute(run_id, engine)
        n += 1
    return n


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_stale(session: Session, now: datetime | None = None) -> int:
    """Mark ``failed`` the runs whose worker is gone: a process of this machine that no longer
    exists, or (another machine) no sign of life for :data:`STALE_AFTER`. Their import's
    transaction died with them, so nothing of them is in the database."""
    now = now or utcnow()
    host = socket.gethostname()[:80]
    dead = []
    for run_id, worker, beat in session.execute(
        select(ImportRun.id, ImportRun.worker, ImportRun.heartbeat_at).where(
            ImportRun.status == "running"
        )
    ).all():
        w_host, _, w_pid = (worker or "").rpartition(":")
        if w_host == host and w_pid.isdigit():
            gone = not _pid_alive(int(w_pid))
        else:
            gone = beat is None or now - beat > STALE_AFTER
        if gone:
            dead.append(run_id)
    for run_id in dead:
        log.warning("import run %s: its worker is gone; marked failed", run_id)
        _finish(session, run_id, "failed", error=INTERRUPTED)
    return len(dead)


# -- reading runs -------------------------------------------------------------------------------


def get_run(session: Session, actor: User, run_id: int) -> ImportRun:
    require_manager(actor)
    run = session.get(ImportRun, run_id)
    if run is None:
        raise NotFound(_l("导入记录不存在"))
    dept = session.scalar(select(User.department_id).where(User.id == run.user_id))
    if not can_see_import_run(actor, run.user_id, dept):
        raise NotFound(_l("导入记录不存在"))  # another department's run: as if none
    return run


def retry(session: Session, actor: User, run_id: int) -> ImportRun:
    """Queue a failed run again (its file was kept)."""
    run = get_run(session, actor, run_id)
    if run.status != "failed" or not run.data:
        raise ValidationFailed(_l("只有失败的导入可以重新运行"), field="status")
    run.status, run.phase, run.done_rows, run.error = "queued", None, 0, None
    run.finished_at = None
    session.add(run)
    session.flush()
    return run


def import_anyway(
    session: Session, actor: User, run_id: int, rows: list[int], mode: str | None = None
) -> ImportRun:
    """Import the file of a run again, the possible duplicates in ``rows`` with the others
    ("import anyway", per row); the held rows not chosen stay out and are listed as rejected.
    Firms already imported from the file count as unchanged. ``mode``: "all" or "skip" (a
    checked file's import; a run that imported keeps its own)."""
    src = get_run(session, actor, run_id)
    rep = report_of(src)
    if src.kind != "firms" or rep is None or not rep.candidates or not src.data:
        raise ValidationFailed(_l("这次导入没有待确认的近似重名企业"), field="rows")
    mode = mode or ("skip" if src.mode == "check" else src.mode)
    if mode not in ("all", "skip"):
        raise ValidationFailed(_l("未知导入方式：%(mode)s", mode=mode[:20]), field="mode")
    unknown = [r for r in rows if r not in rep.candidates]
    if unknown:
        raise ValidationFailed(_l("第 %(row)s 行不是待确认的行", row=unknown[0]), field="rows")
    run = create_run(session, actor, src.kind, src.filename, src.data, mode=mode)
    run.confirmed = json.dumps(sorted(set(rows)))
    session.add(run)
    session.flush()
    return run


def history(
    session: Session, actor: User, *, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """The latest runs first, with the name of who ran them (managers and admins): those
    ``crm.authz.can_see_import_run`` allows (own department's runs; admins all)."""
    require_manager(actor)
    recover_stale(session)
    mine = import_run_filter(actor, ImportRun.user_id, User.department_id)
    total = (
        session.scalar(
            select(func.count())
            .select_from(ImportRun)
            .join(User, User.id == ImportRun.user_id)
            .where(mine)
        )
        or 0
    )
    rows = session.execute(
        select(
            ImportRun.id,
            ImportRun.kind,
            ImportRun.filename,
            ImportRun.size,
            ImportRun.mode,
            ImportRun.status,
            ImportRun.total,
            ImportRun.imported,
            ImportRun.updated,
            ImportRun.unchanged,
            ImportRun.rejected,
            ImportRun.applied,
            ImportRun.created_at,
            ImportRun.finished_at,
            User.display_name,
            User.username,
        )
        .join(User, User.id == ImportRun.user_id)
        .where(mine)
        .order_by(ImportRun.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [dict(r._mapping) for r in rows], total
