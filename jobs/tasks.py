"""The jobs themselves: each opens its own transactions and calls crm/ services.

Every function takes ``now`` so tests control the clock. Daily and weekly jobs record a job_run
(the admin page shows them; the runner makes up a missed one after downtime).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm import submissions
from crm.backup import nightly
from crm.clock import today_local
from crm.config import get_settings
from crm.db import get_engine, session_scope
from crm.firms.search_index import compact
from crm.outbox import compose, digest, run_detail
from crm.outbox import service as outbox
from crm.outbox.alerts import compose_failure_alerts
from crm.outbox.channels import DeliveryError, Mailer, Webhook, post_robot
from crm.outbox.limits import limit_of
from crm.reassign import compose_orphan_notices
from crm.summaries.fill import NIGHTLY_REFILL_WEEKS, fill
from crm.types import utcnow

log = logging.getLogger("crm.jobs")


# failures that could not be written when they happened (the database was locked or down):
# written with the next run that reaches the database, so no failed run goes unrecorded
_unrecorded: list[tuple[str, int | None, datetime, datetime, str]] = []
_unrecorded_lock = threading.Lock()


def _record_pending_failures() -> None:
    with _unrecorded_lock:
        pending = list(_unrecorded)
    if not pending:
        return
    with session_scope() as s:
        for job, run_id, started, finished, error in pending:
            if run_id is None:
                run_id = outbox.start_run(s, job, started).id
            outbox.finish_run(s, run_id, "error", error, now=finished)
    with _unrecorded_lock:
        del _unrecorded[: len(pending)]


def _recorded(
    job: str, work: Callable[[Any, datetime], int], now: datetime | None, always: bool = True
) -> int:
    """Run ``work(session, now)`` in one transaction with its job_run row marked ok.

    Every step is inside the ``try``: a failure — even of the first write — is logged at ERROR
    and recorded as a job_run row with status ``error`` (later, if the database refused that
    too), then raised so the scheduler can try the run again.
    """
    now = now or utcnow()
    run_id = None
    try:  # earlier failures first; one that still cannot be written stays pending — never
        # this job's error (its SQL and parameters are the other job's)
        _record_pending_failures()
    except Exception:
        log.warning("job %s: earlier failures still cannot be recorded", job, exc_info=True)
    try:
        if always:
            with session_scope() as s:
                run_id = outbox.start_run(s, job, now).id
        with session_scope() as s:
            n = work(s, now)
            this_run = run_id
            if this_run is None and n:
                this_run = outbox.start_run(s, job, now).id
            if this_run is not None:
                outbox.finish_run(s, this_run, "ok", run_detail.written(n), now=utcnow())
        return n
    except Exception as exc:
        # the row says what kind of failure, in the reader's language; the text goes to the log
        error = run_detail.failure(exc)
        log.error("job %s failed: %s: %s", job, type(exc).__name__, exc, exc_info=True)
        try:
            with session_scope() as s:
                if run_id is None:
                    run_id = outbox.start_run(s, job, now).id
                outbox.finish_run(s, run_id, "error", error, now=utcnow())
        except Exception:
            log.error("job %s: its failure could not be recorded now; kept for later", job)
            with _unrecorded_lock:
                _unrecorded.append((job, run_id, now, utcnow(), error))
        raise


def daily_reminders(now: datetime | None = None) -> int:
    return _recorded(
        "daily_reminders",
        # and the managers are told of open follow-ups left on inactive users (crm/reassign)
        lambda s, t: (
            compose.compose_daily_reminders(s, today_local(t), now=t)
            + compose_orphan_notices(s, today_local(t), now=t)
        ),
        now,
    )


def stale_alerts(now: datetime | None = None) -> int:
    return _recorded("stale_alerts", lambda s, t: compose.compose_stale_alerts(s, now=t), now)


def weekly_digest(now: datetime | None = None) -> int:
    return _recorded(
        "weekly_digest", lambda s, t: digest.compose_weekly_digest(s, today_local(t), now=t), now
    )


def followup_reminders(now: datetime | None = None) -> int:
    return _recorded(
        "followup_reminders",
        lambda s, t: compose.compose_followup_reminders(s, now=t),
        now,
        always=False,
    )


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # held back by a robot's rate limit (not an attempt)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed

    def add(self, other: DrainReport) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.deferred += other.deferred
        self.errors += other.errors


ROBOT_BATCH = 5  # robot messages claimed at a time (each is a quick HTTP POST)
EMAIL_BATCH = 20  # emails claimed at a time: a batch stays well inside the lease


def drain_lane(
    lane: outbox.Lane, now: datetime | None = None, limit: int = 50, max_batches: int = 20
) -> DrainReport:
    """Send what is due in one lane: claim a batch (committed at once), send each, mark each.

    Email stops at the first failure that is not about one message (the server is down or does
    not answer): the rest of the batch goes back unsent and untried, so a hung server costs one
    timeout per pass, not one per message. A robot is sent no more than its channel's rate
    (``limits.LIMITS``): messages past it wait, untried, until the window has room.
    """
    rep = DrainReport()
    lim = limit_of(lane.channel)
    for _ in range(max_batches):
        t = now or utcnow()
        size = min(limit, ROBOT_BATCH if lane.is_robot else EMAIL_BATCH)
        with session_scope() as s:
            if lane.is_robot and lim.per_window:
                used, _ = outbox.sent_in_window(s, lane, t)
                room = lim.per_window - used
                if room <= 0:
                    rep.deferred += 1
                    break
                size = min(size, room)
            batch = outbox.claim_due(s, t, limit=size, lane=lane)
            hooks = outbox.webhooks_for(s, {lane.department_id} if lane.department_id else set())
        if not batch:
            break
        stop = _send_batch(lane, batch, hooks, now, rep)
        if stop or len(batch) < size:
            break
    if rep.total:
        log.info(
            "outbox %s: %s sent, %s to retry, %s failed",
            lane.channel if not lane.is_robot else f"{lane.channel}:{lane.department_id}",
            rep.sent,
            rep.retried,
            rep.failed,
        )
    return rep


def _send_batch(
    lane: outbox.Lane,
    batch: list[outbox.Claimed],
    hooks: dict[int, Any],
    now: datetime | None,
    rep: DrainReport,
) -> bool:
    """Send and mark each claimed message of one batch; True when the lane stops (the server,
    not a message, failed: the rest of the batch goes back unsent and untried)."""
    with Mailer() as mailer:
        for i, msg in enumerate(batch):
            try:
                if not lane.is_robot:
                    mailer.send(
                        to=msg.recipient,
                        subject=msg.subject,
                        text=msg.body_text,
                        html=msg.body_html,
                        message_id=msg.message_id,
                    )
                else:
                    hook = hooks.get(msg.department_id or 0)
                    if hook is None:
                        raise DeliveryError("the department has no webhook now", permanent=True)
                    post_robot(hook, msg.subject, msg.body_text)
            except DeliveryError as exc:
                with session_scope() as s:
                    status = outbox.mark_failed(
                        s,
                        msg,
                        str(exc),
                        now=now or utcnow(),
                        permanent=exc.permanent,
                        unreachable=exc.unreachable,
                    )
                rep.errors.append(str(exc))
                if status == "failed":
                    rep.failed += 1
                else:
                    rep.retried += 1
                if not exc.permanent:  # the server, not the message: stop this lane
                    with session_scope() as s:
                        for rest in batch[i + 1 :]:
                            outbox.release(s, rest)
                    return True
                continue
            with session_scope() as s:
                outbox.mark_sent(s, msg, now=now or utcnow())
            rep.sent += 1
    return False


def alert_failures(now: datetime | None = None) -> int:
    """After a drain with failures: tell the admins (and robot departments' managers), once a
    day. Never raises — an alert that cannot be written must not stop the sending."""
    try:
        with session_scope() as s:
            return compose_failure_alerts(s, now=now or utcnow())
    except Exception:
        log.error("could not write the failure alert", exc_info=True)
        return 0


def _lanes(now: datetime | None) -> list[outbox.Lane]:
    with session_scope() as s:
        return outbox.due_lanes(s, now or utcnow())


def drain(now: datetime | None = None, limit: int = 50, max_batches: int = 20) -> DrainReport:
    """Drain every lane due now, each in its own thread, and wait for all of them."""
    rep = DrainReport()
    lanes = _lanes(now)
    if not lanes:
        return rep
    if len(lanes) == 1:
        rep.add(drain_lane(lanes[0], now, limit, max_batches))
        if rep.failed:
            alert_failures(now)
        return rep
    with ThreadPoolExecutor(max_workers=min(len(lanes), 16), thread_name_prefix="outbox") as ex:
        for r in ex.map(lambda lane: drain_lane(lane, now, limit, max_batches), lanes):
            rep.add(r)
    if rep.failed:
        alert_failures(now)
    return rep


# the scheduler's lanes still at work (a lane busy with a hung server is not started again)
_busy: dict[outbox.Lane, threading.Thread] = {}
_busy_lock = threading.Lock()


def _record_drain(rep: DrainReport, lane: outbox.Lane, started: datetime) -> None:
    if not rep.total:
        return
    name = "email" if not lane.is_robot else f"{lane.channel}:{lane.department_id}"
    with session_scope() as s:
        run = outbox.start_run(s, "drain_outbox", started)
        outbox.finish_run(
            s,
            run.id,
            "ok" if not rep.errors else "partial",
            run_detail.drained(name, rep.sent, rep.retried, rep.failed, len(rep.errors)),
            now=utcnow(),
        )
    for error in rep.errors[:5]:
        log.warning("outbox %s: %s", name, error)


def _lane_worker(lane: outbox.Lane) -> None:
    try:
        started = utcnow()
        rep = drain_lane(lane)
        _record_drain(rep, lane, started)
        if rep.failed:
            alert_failures()
    except Exception:
        log.error("outbox lane %s failed", lane, exc_info=True)
    finally:
        with _busy_lock:
            _busy.pop(lane, None)


def drain_job(now: datetime | None = None) -> DrainReport:
    """The scheduled drain: start each due lane that is not already at work, in its own thread,
    and return without waiting — email waiting on a hung server never holds up a robot."""
    if now is not None:  # a controlled clock (tests): drain synchronously
        return drain(now)
    for lane in _lanes(None):
        with _busy_lock:
            if lane in _busy:
                continue
            th = threading.Thread(target=_lane_worker, args=(lane,), name=f"outbox-{lane}")
            th.daemon = True
            _busy[lane] = th
        th.start()
    return DrainReport()


def nightly_backup(now: datetime | None = None) -> str:
    """Back up the database (crm.backup.nightly: written whole or not at all, the oldest
    beyond ``backup_keep`` removed); its job_run row says the file or the error, and the admin
    overview shows it."""

    now = now or utcnow()
    with session_scope() as s:
        run_id = outbox.start_run(s, "nightly_backup", now).id
    try:
        done = nightly(get_settings())
    except Exception as exc:
        log.error("nightly backup failed: %s: %s", type(exc).__name__, exc)
        with session_scope() as s:
            outbox.finish_run(s, run_id, "error", run_detail.failure(exc), now=utcnow())
        raise
    with session_scope() as s:
        outbox.finish_run(
            s,
            run_id,
            "ok",
            run_detail.backup_written(str(done.file), done.size, done.removed, done.kept),
            now=utcnow(),
        )
    return str(done)


def fill_summaries(now: datetime | None = None) -> int:
    """The rollups brought up to the open week (rebuilt first if the zone changed); and the
    create forms' one-use keys older than a week forgotten (``crm.submissions``)."""
    weeks = sum(fill(now=now).values())
    with session_scope() as s:
        submissions.forget_old(s, now)
    return weeks


def refill_summaries(now: datetime | None = None) -> int:
    """Nightly: the recent closed weeks counted again from the raw rows, with a job_run row."""
    t = now or utcnow()
    with session_scope() as s:
        run_id = outbox.start_run(s, "refill_summaries", t).id
    try:
        weeks = sum(fill(now=t, refill_weeks=NIGHTLY_REFILL_WEEKS).values())
    except Exception as exc:
        log.exception("job refill_summaries failed")
        with session_scope() as s:
            outbox.finish_run(s, run_id, "error", run_detail.failure(exc), now=utcnow())
        raise
    with session_scope() as s:
        outbox.finish_run(s, run_id, "ok", run_detail.weeks_counted(weeks), now=utcnow())
    return weeks


def compact_search_index(now: datetime | None = None) -> int:
    """SQLite: the firm search's FTS5 index merged back into one segment when the changes since
    have split it (``crm.firms.search_index.compact``, short steps); the steps done. A no-op on
    PostgreSQL and on an index still compact."""
    return compact(get_engine())


JOBS: dict[str, Callable[..., Any]] = {
    "daily_reminders": daily_reminders,
    "stale_alerts": stale_alerts,
    "weekly_digest": weekly_digest,
    "followup_reminders": followup_reminders,
    "drain_outbox": drain_job,
    "nightly_backup": nightly_backup,
    "fill_summaries": fill_summaries,
    "refill_summaries": refill_summaries,
    "compact_search_index": compact_search_index,
}

__all__ = ["JOBS", "DrainReport", "Webhook", "drain"]
