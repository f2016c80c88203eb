"""What a message may say about a confidential project (SPEC §6): its code name and the kind of
task, never its title, its firm, or the free text of a follow-up or activity on it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from crm.i18n import Message, _l
from crm.models.activities import ActivityProject
from crm.models.projects import Project

FOLLOWUP_KIND = _l("跟进事项")  # the kind of task, in the reader's language


def activity_code_name(activity_id_col: Any) -> Any:
    """A scalar subquery: the code name of a confidential project the activity (column) names,
    or NULL — so a follow-up attached to such an activity is redacted like one on the project."""
    p = aliased(Project)
    ap = aliased(ActivityProject)
    return (
        select(func.min(func.coalesce(p.code_name, "—")))
        .where(ap.activity_id == activity_id_col, ap.project_id == p.id, p.is_confidential)
        .scalar_subquery()
    )


def task_title(
    title: str,
    confidential: bool | None,
    code_name: str | None,
    kind: str | Message = FOLLOWUP_KIND,
) -> str:
    """A follow-up's title in a message or calendar event: on a confidential project, the code
    name and the kind of task only."""
    if confidential:
        return f"{code_name or '—'} · {kind}"
    return title
