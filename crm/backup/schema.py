"""A database's schema as it matters to the app, in one shape for SQLite and PostgreSQL
(``sqlite.sqlite_schema``, ``postgres.pg_schema``), and its comparison with the schema its
migration makes: what is missing, added or changed, one message each, and the refusal that
names the first few."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from crm.errors import ValidationFailed
from crm.i18n import Message, _l

Schema = dict[tuple[str, str], Any]  # (kind, name) → what must be equal


class Column(NamedTuple):
    """What must be equal of a table's column: NOT NULL, its type and its default (as the
    database prints them)."""

    notnull: bool
    type: str
    default: str


def norm_sql(sql: str | None) -> str:
    return re.sub(r"\s+", " ", (sql or "").strip()).lower()


KINDS = {  # in the order a refusal names them
    "table": _l("数据表"),
    "trigger": _l("触发器"),
    "function": _l("数据库函数"),
    "view": _l("数据库视图"),
    "constraint": _l("约束"),
    "index": _l("索引"),
    "rule": _l("重写规则"),
    "row_security": _l("行级安全开关"),
    "policy": _l("行级安全策略"),
    "collation": _l("列排序规则"),
    "inherits": _l("表继承"),
    "event_trigger": _l("事件触发器"),
}


def schema_differences(want: Schema, have: Schema) -> list[Message]:
    """What ``have`` lacks, adds or changes against ``want``, one message each."""
    out: list[Message] = []
    order = list(KINDS)
    for key in sorted(set(want) | set(have), key=lambda k: (order.index(k[0]), k[1])):
        kind, name = key
        what = KINDS[kind]
        if (
            kind in ("index", "constraint")
            and (
                "table",
                (want.get(key) or have[key])[0],
            )
            not in have
        ):
            continue  # the indexes and constraints of a table that is missing: the table says it
        if key not in have:
            out.append(_l("缺少%(kind)s %(name)s", kind=what, name=name))
        elif key not in want:
            out.append(_l("多出%(kind)s %(name)s", kind=what, name=name))
        elif kind == "table":
            out.extend(_column_differences(name, want[key], have[key]))
        elif want[key] != have[key]:
            out.append(_l("%(kind)s %(name)s 与迁移所建的不同", kind=what, name=name))
    return out


def _column_differences(
    table: str, want: dict[str, Column], have: dict[str, Column]
) -> list[Message]:
    out: list[Message] = []
    for col in sorted(set(want) | set(have)):
        if col not in have:
            out.append(_l("表 %(table)s 缺少列 %(name)s", table=table, name=col))
        elif col not in want:
            out.append(_l("表 %(table)s 多出列 %(name)s", table=table, name=col))
        else:
            w, h = want[col], have[col]
            if w.notnull != h.notnull:
                out.append(_l("列 %(table)s.%(name)s 的非空约束不同", table=table, name=col))
            if w.type != h.type:
                out.append(
                    _l(
                        "列 %(table)s.%(name)s 的类型是 %(have)s，迁移所建的是 %(want)s",
                        table=table,
                        name=col,
                        have=h.type,
                        want=w.type,
                    )
                )
            if w.default != h.default:
                out.append(_l("列 %(table)s.%(name)s 的默认值不同", table=table, name=col))
    return out


def check_schema(revision: str, have: Schema, want: Schema) -> None:
    """Refuse a copy at ``revision`` whose schema ``have`` is not ``want``, its migration's."""
    diff = schema_differences(want, have)
    if not diff:
        return
    shown: Message = diff[0]
    for part in diff[1:5]:
        shown = _l("%(first)s；%(rest)s", first=shown, rest=part)
    raise ValidationFailed(
        _l(
            "备份的结构与其迁移版本（%(rev)s）不符，共 %(n)s 处：%(diff)s",
            rev=revision,
            n=len(diff),
            diff=shown,
        )
    )
