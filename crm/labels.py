"""What a person reads for a code: roles, audit actions and the kinds of audited records.

Codes stay in the API and the database; pages, exports and messages show these (lazy
``crm.i18n`` messages, so each reader gets their language). An unknown code shows as itself.
The closed vocabularies' words are keyed by their members (``crm.vocabulary``): a code that is
not one fails on import.
"""

from __future__ import annotations

from crm.i18n import Message, _l
from crm.vocabulary import ActivityKind, FollowupStatus, Stage, Tier

ROLES: dict[str, Message] = {
    "officer": _l("招商专员"),
    "manager": _l("管理者"),
    "admin": _l("系统管理员"),
}

AUDIT_ACTIONS: dict[str, Message] = {
    "create": _l("新建"),
    "update": _l("修改"),
    "delete": _l("删除"),
    "deactivate": _l("停用"),
    "change_password": _l("修改密码"),
    "reset_password": _l("重置密码"),
    "conflict": _l("撞单"),
    "export": _l("导出"),
    "import": _l("导入"),
    "load_pack": _l("载入政策包"),
    "lock": _l("锁定"),
    "unlock": _l("解锁"),
    "login": _l("登录"),
    "login_failed": _l("登录失败"),
    "logout": _l("退出登录"),
    "move_stage": _l("推进阶段"),
    "renew_calendar_token": _l("更换日历链接"),
    "reopen": _l("重新打开"),
    "retry": _l("重发"),
    "revoke_token": _l("吊销令牌"),
    "unlink_contact": _l("移除联系人"),
    "done": _l("完成"),
    "cancelled": _l("取消"),
    "merge": _l("合并"),
    "reassign": _l("转交"),
    "restore": _l("恢复"),
    "backup": _l("备份"),
    "touch": _l("更新接触时间"),
    "conflict_flag": _l("标记撞单"),
}

AUDIT_ENTITIES: dict[str, Message] = {
    "activity": _l("接触记录"),
    "api_token": _l("访问令牌"),
    "capital_arrival": _l("到资"),
    "cluster": _l("产业集群"),
    "contact": _l("联系人"),
    "department": _l("部门"),
    "firm": _l("企业"),
    "followup": _l("跟进事项"),
    "outbox_message": _l("消息"),
    "policy_pack": _l("政策包"),
    "project": _l("项目"),
    "user": _l("用户"),
    "park": _l("园区"),
    "import": _l("导入"),
    "conflict": _l("撞单"),
}


ACTIVITY_KINDS: dict[str, Message] = {
    ActivityKind.visit: _l("拜访"),
    ActivityKind.call: _l("电话"),
    ActivityKind.meeting: _l("会谈"),
    ActivityKind.email: _l("邮件"),
    ActivityKind.delegation: _l("代表团"),
    ActivityKind.site_visit: _l("实地考察"),
    ActivityKind.signing: _l("签约"),
    ActivityKind.other: _l("其他"),
}


STAGES: dict[str, Message] = {
    Stage.lead: _l("线索"),
    Stage.contacted: _l("已接触"),
    Stage.negotiating: _l("洽谈中"),
    Stage.signed: _l("已签约"),
    Stage.landed: _l("已落地"),
    Stage.operating: _l("已投产"),
    Stage.lost: _l("已流失"),
}

FOLLOWUP_STATUSES: dict[str, Message] = {
    FollowupStatus.open: _l("待办"),
    FollowupStatus.done: _l("已完成"),
    FollowupStatus.cancelled: _l("已取消"),
}

TIERS: dict[str, Message] = {
    Tier.global500: _l("世界500强"),
    Tier.china500: _l("中国500强"),
    Tier.leader: _l("行业龙头"),
    Tier.other: _l("其他"),
}


def activity_kind(code: str | None) -> Message | str:
    return ACTIVITY_KINDS.get(code or "", code or "")


def role(code: str | None) -> Message | str:
    return ROLES.get(code or "", code or "")


def audit_action(code: str | None) -> Message | str:
    return AUDIT_ACTIONS.get(code or "", code or "")


def audit_entity(code: str | None) -> Message | str:
    return AUDIT_ENTITIES.get(code or "", code or "")
