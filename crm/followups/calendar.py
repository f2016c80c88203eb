"""Each officer's open follow-ups as an iCalendar feed at a private, renewable URL."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import aliased
from sqlmodel import Session

from crm.authz import followup_visible
from crm.authz.disclosure import task_title, with_followup_naming
from crm.changes import apply_change
from crm.config import get_settings
from crm.errors import NotFound
from crm.i18n import _l, gettext
from crm.models.accounts import User
from crm.models.firms import Firm
from crm.models.followups import Followup
from crm.models.projects import Project
from crm.types import utcnow

FEED_LIMIT = 2000
NOT_FOUND = _l("日历不存在")


def calendar_token(session: Session, actor: User) -> str:
    """The actor's feed token, made on first use."""
    if not actor.ical_token:
        return renew_calendar_token(session, actor)
    return actor.ical_token


def renew_calendar_token(session: Session, actor: User) -> str:
    """A new secret token: the old feed URL stops working at once."""
    token = secrets.token_urlsafe(32)
    # the token itself never reaches the audit row (audit.service.snapshot leaves it out)
    apply_change(
        session, actor.id, actor, "user", None, {"ical_token": token}, action="renew_calendar_token"
    )
    return token


def calendar_feed(session: Session, token: str, now: datetime | None = None) -> bytes:
    """The .ics of the token owner's open follow-ups (what they may see, nothing else)."""
    if not token or len(token) > 64:
        raise NotFound(NOT_FOUND)
    user = session.scalar(select(User).where(User.ical_token == token, User.is_active.is_(True)))
    if user is None or not secrets.compare_digest(user.ical_token or "", token):
        raise NotFound(NOT_FOUND)
    now = now or utcnow()
    P = aliased(Project)  # the visibility filter correlates the plain Project
    rows = session.execute(
        with_followup_naming(
            select(
                Followup.id,
                Followup.title,
                Followup.notes,
                Followup.due_at,
                Followup.remind_at,
                Followup.updated_at,
            ),
            P,
            Firm,
        )
        .where(Followup.assignee_id == user.id, Followup.status == "open", followup_visible(user))
        .order_by(Followup.due_at)
        .limit(FEED_LIMIT)
    ).all()
    base = get_settings().base_url.rstrip("/")
    host = hashlib.sha256(base.encode()).hexdigest()[:12]
    lang = user.language
    cal = Calendar()
    cal.add("prodid", f"-//zhaoshang-crm//follow-ups//{'EN' if lang == 'en' else 'ZH'}")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"{gettext('招商 CRM', lang)} · {user.display_name}")
    cal.add("x-wr-timezone", get_settings().timezone)
    for r in rows:
        # a confidential project (its own, or one its activity names): code name and kind only
        secret = bool(r.is_confidential) or r.act_code is not None
        code = r.code_name if r.is_confidential else r.act_code
        title = task_title(r.title, secret, code, gettext("跟进事项", lang))
        ev = Event()
        ev.add("uid", f"followup-{r.id}@{host}.crm")
        ev.add("dtstamp", now)
        ev.add("last-modified", r.updated_at)
        ev.add("dtstart", r.due_at)
        ev.add("dtend", r.due_at + timedelta(minutes=30))
        ev.add("summary", title)
        where = []
        if r.project_id is not None:
            where.append(r.code_name if r.is_confidential else r.p_title)
            link = f"{base}/projects/{r.project_id}"
        elif r.firm_id is not None:
            link = f"{base}/firms/{r.firm_id}"
        else:
            link = f"{base}/followups"
        if r.firm and not secret:
            where.append(r.firm)
        desc = " · ".join(w for w in where if w)
        if r.notes and not secret:
            desc = f"{desc}\n{r.notes}" if desc else r.notes
        if desc:
            ev.add("description", desc)
        ev.add("url", link)
        if r.remind_at is not None:
            from icalendar import Alarm

            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", title)
            alarm.add("trigger", r.remind_at - r.due_at)
            ev.add_component(alarm)
        cal.add_component(ev)
    ical: bytes = cal.to_ical()  # (icalendar has no type information)
    return ical
