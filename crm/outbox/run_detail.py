"""What a scheduled job's run row says (``job_run.detail``), in the reader's language.

The row is written language-neutral — a small JSON object: what happened and its numbers — and
read as a translated sentence on the admin pages. An error's text (SQL, parameters, paths)
never goes in the row: the job logs it; the row says what kind of failure it was. Rows
written before this (English sentences, raw exception text) are read the same way."""

from __future__ import annotations

import json
import re
from typing import Any

from crm.db import is_busy
from crm.i18n import Message, _l

CHANNELS = {"email": _l("邮件"), "wecom": _l("企业微信"), "dingtalk": _l("钉钉")}


def _dump(kind: str, **values: Any) -> str:
    return json.dumps({"k": kind, **values}, ensure_ascii=False, separators=(",", ":"))


def written(n: int) -> str:
    return _dump("written", n=n)


def drained(channel: str, sent: int, retried: int, failed: int, errors: int) -> str:
    """A lane of the outbox drained (``channel`` e.g. ``email`` or ``wecom:3``)."""
    return _dump("drained", ch=channel, sent=sent, retry=retried, failed=failed, errors=errors)


def weeks_counted(n: int) -> str:
    return _dump("weeks", n=n)


def backup_written(file: str, size: int, removed: int, kept: int) -> str:
    return _dump("backup", file=file, size=size, removed=removed, kept=kept)


def failure(exc: BaseException) -> str:
    """A failed run: the database busy (retried by the scheduler) or another error, by its
    class name only (the message, which may hold SQL and parameters, goes to the log)."""
    if is_busy(exc):
        return _dump("busy")
    return _dump("error", type=type(exc).__name__)


def _channel(code: str) -> Message | str:
    name, _, dept = code.partition(":")
    label = CHANNELS.get(name, name)
    return _l("%(channel)s（部门 %(dept)s）", channel=label, dept=dept) if dept else label


def _message(d: dict[str, Any]) -> Message | None:
    k = d.get("k")
    if k == "written":
        return _l("写入 %(n)s 条消息", n=d.get("n", 0))
    if k == "drained":
        msg = _l(
            "%(channel)s：已发送 %(sent)s，稍后重试 %(retry)s，失败 %(failed)s",
            channel=_channel(str(d.get("ch", ""))),
            sent=d.get("sent", 0),
            retry=d.get("retry", 0),
            failed=d.get("failed", 0),
        )
        if d.get("errors"):
            return _l("%(msg)s；发送出错（详见服务器日志）", msg=msg)
        return msg
    if k == "weeks":
        return _l("重算 %(n)s 周", n=d.get("n", 0))
    if k == "backup":
        return _l(
            "%(file)s（%(size)s 字节）；删除旧备份 %(removed)s 个，保留 %(kept)s 个",
            file=d.get("file", ""),
            size=f"{int(d.get('size', 0)):,}",
            removed=d.get("removed", 0),
            kept=d.get("kept", 0),
        )
    if k == "busy":
        return _l("数据库被占用，已安排重试")
    if k == "error":
        return _l("任务出错（%(type)s），详见服务器日志", type=d.get("type", ""))
    return None


# rows written by earlier versions
_OLD = (
    (re.compile(r"^(\d+) messages written$"), lambda m: {"k": "written", "n": int(m[1])}),
    (re.compile(r"^(\d+) weeks counted$"), lambda m: {"k": "weeks", "n": int(m[1])}),
    (
        re.compile(r"^(\S+): sent (\d+), retry (\d+), failed (\d+)(;.*)?$", re.S),
        lambda m: {
            "k": "drained",
            "ch": m[1],
            "sent": int(m[2]),
            "retry": int(m[3]),
            "failed": int(m[4]),
            "errors": 1 if m[5] else 0,
        },
    ),
    (
        re.compile(r"^(.+) \(([\d,]+) bytes\); (\d+) old removed, (\d+) kept$"),
        lambda m: {
            "k": "backup",
            "file": m[1],
            "size": int(m[2].replace(",", "")),
            "removed": int(m[3]),
            "kept": int(m[4]),
        },
    ),
    (
        re.compile(r"^\w+: .*database (table )?is locked", re.S),
        lambda m: {"k": "busy"},
    ),
    (
        re.compile(r"^(\w+(?:Error|Exception|Failure|Timeout)\w*): ", re.S),
        lambda m: {"k": "error", "type": m[1]},
    ),
)


def describe(detail: str | None, lang: str | None = None) -> str:
    """A run row's detail as a sentence in ``lang`` (the page's language)."""
    if not detail:
        return ""
    parsed: dict[str, Any] | None = None
    if detail.startswith("{"):
        try:
            value = json.loads(detail)
        except ValueError:
            value = None
        parsed = value if isinstance(value, dict) else None
    else:
        for pattern, make in _OLD:
            if m := pattern.match(detail):
                parsed = make(m)
                break
    msg = _message(parsed) if parsed else None
    return msg.render(lang) if msg is not None else detail
