"""The daily job leaves no open follow-up on an inactive assignee unnoticed: an officer
deactivated without a handover (e.g. through the API) still holds open follow-ups, and the
department's manager gets an email naming them with a link to the handover page — real SMTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from crm.accounts.users import update_user
from crm.errors import Conflict
from crm.models.accounts import User
from crm.models.followups import Followup
from jobs import tasks
from tests.factories import make_department, make_user
from tests.servers import body_text

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


def test_the_daily_job_tells_the_manager_of_follow_ups_left_on_an_inactive_officer(session, smtp):
    d, other = make_department(session), make_department(session)
    admin = make_user(session, "admin", email="admin@example.com")
    make_user(session, "manager", d, email="boss@example.com")
    make_user(session, "manager", other, email="other-boss@example.com")
    leaver = make_user(session, "officer", d, display_name="离职专员", email="leaver@example.com")
    session.add(
        Followup(
            title="回访离职者的企业",
            due_at=NOW + timedelta(days=3),
            assignee_id=leaver.id,
            created_by_id=leaver.id,
        )
    )
    session.commit()
    # deactivation refuses while work is held (crm.accounts.users.update_user); a user made
    # inactive before that rule, or in the database by hand, still holds it: the job tells
    with pytest.raises(Conflict):
        update_user(session, admin, leaver.id, version=leaver.version, is_active=False)
    session.rollback()
    session.execute(update(User).where(User.id == leaver.id).values(is_active=False))
    session.commit()

    tasks.daily_reminders(NOW)
    tasks.drain(NOW)
    assert [m["To"] for m in smtp.messages] == ["boss@example.com"]
    text = body_text(smtp.inbox.to("boss@example.com")[0])
    assert "回访离职者的企业" in text and "离职专员" in text
    assert f"/users/{leaver.id}/handover" in text
    tasks.daily_reminders(NOW + timedelta(minutes=5))  # once a day
    assert tasks.drain(NOW + timedelta(hours=1)).total == 0
