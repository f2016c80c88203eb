"""A department's group robot (企业微信 / 钉钉) for its reminders and digests."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel import Session

from crm.accounts.models import Department, User
from crm.audit.service import record, snapshot
from crm.authz import require_admin
from crm.errors import NotFound, StaleVersion, ValidationFailed
from crm.i18n import _l

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
    (neither is ever shown back); the URL must be http(s) with a host."""
    require_admin(actor)
    dep = session.get(Department, department_id)
    if dep is None:
        raise NotFound(_l("部门不存在"))
    if version is not None and version != dep.version:
        raise StaleVersion(_l("该部门已被他人修改"), current=snapshot(dep))
    kind = (kind or "").strip() or None
    url = (url or "").strip() or None
    secret = (secret or "").strip() or None
    before = snapshot(dep)
    had = {"url": bool(dep.webhook_url), "secret": bool(dep.webhook_secret)}
    if kind is None:
        dep.webhook_kind = dep.webhook_url = dep.webhook_secret = None
    else:
        if kind not in WEBHOOK_KINDS:
            raise ValidationFailed(_l("机器人类型应为 wecom 或 dingtalk"), field="webhook_kind")
        if url is not None:
            parts = urlsplit(url)
            if len(url) > 500 or parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValidationFailed(
                    _l("机器人地址应为 http(s) 网址，最多500字符"),
                    field="webhook_url",
                )
            dep.webhook_url = url
        elif not dep.webhook_url:
            raise ValidationFailed(_l("请填写机器人地址"), field="webhook_url")
        if secret is not None:
            if len(secret) > 200:
                raise ValidationFailed(_l("密钥最多200字符"), field="webhook_secret")
            dep.webhook_secret = secret
        dep.webhook_kind = kind
    dep.version += 1
    session.add(dep)
    # the address and the secret are credentials: the audit says whether they changed, not what
    record(
        session,
        actor.id,
        "update",
        "department",
        dep.id,
        before={
            **(before or {}),
            "webhook_url_set": had["url"],
            "webhook_secret_set": had["secret"],
        },
        after={
            **(snapshot(dep) or {}),
            "webhook_url_set": bool(dep.webhook_url),
            "webhook_secret_set": bool(dep.webhook_secret),
        },
    )
    session.flush()
    return dep
