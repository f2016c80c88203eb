"""A department's group robot (企业微信 / 钉钉) for its reminders and digests."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from crm.accounts.departments import change_department, department_to_change
from crm.accounts.robot_address import robot_address_refusal
from crm.changes import LinkChange
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import Department, User

WEBHOOK_KINDS = ("wecom", "dingtalk")


def set_department_webhook(
    session: Session,
    actor: User,
    department_id: int,
    *,
    kind: str | None,
    url: str | None = None,
    secret: str | None = None,
    version: int | None = None,
) -> Department:
    """Set or clear a department's group robot (企业微信 / 钉钉) for its reminders and digests
    (admins). No kind clears all three fields. A blank URL or secret keeps the one already set
    (neither is ever shown back); the URL must be http(s) with a public host
    (``crm.accounts.robot_address``)."""
    dep = department_to_change(session, actor, department_id, version)
    kind = (kind or "").strip() or None
    url = (url or "").strip() or None
    secret = (secret or "").strip() or None
    changes: dict[str, Any]
    if kind is None:
        changes = {"webhook_kind": None, "webhook_url": None, "webhook_secret": None}
    else:
        if kind not in WEBHOOK_KINDS:
            raise ValidationFailed(_l("机器人类型应为 wecom 或 dingtalk"), field="webhook_kind")
        changes = {"webhook_kind": kind}
        if url is not None:
            if (refusal := robot_address_refusal(url)) is not None:
                raise ValidationFailed(refusal, field="webhook_url")
            changes["webhook_url"] = url
        elif not dep.webhook_url:
            raise ValidationFailed(_l("请填写机器人地址"), field="webhook_url")
        if secret is not None:
            if len(secret) > 200:
                raise ValidationFailed(_l("密钥最多200字符"), field="webhook_secret")
            changes["webhook_secret"] = secret
    # the address and the secret are credentials: the audit says whether they are set, not what
    # they are (``audit.service.snapshot`` leaves them out)
    new = {**dep.model_dump(), **changes}
    links = {
        f"{k}_set": LinkChange(bool(getattr(dep, k)), bool(new[k]), lambda: None)
        for k in ("webhook_url", "webhook_secret")
    }
    change_department(session, actor, dep, version, changes, links=links)
    return dep
