"""Group-robot markdown cannot be injected (ATTACK7 P3-12): a title carrying a link, a mention
or a line break that starts a heading was posted verbatim to a department's group chat. Titles
and names are one line (refused with a clear message), and every value a robot template prints
is made inert (its own headings, lists and links stay)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from crm.outbox.render import render_robot
from crm.projects.schemas import ProjectCreate, ProjectUpdate

EVIL = "注入[点我领奖](http://evil.example/phish) <@all> \n### 紧急通知：请回复密码"


def test_a_robot_message_prints_values_inert():
    ctx = {
        "cluster": "环保",
        "first": EVIL,
        "first_dept": "市投资促进局",
        "later": "后报项目",
        "later_dept": "<@all>",
        "link": "/conflicts?first_id=1",
    }
    for lang in ("zh_CN", "en"):
        text = render_robot("conflict", lang, ctx).text
        assert "[点我领奖](" not in text and "<@all>" not in text, text
        assert "\n### 紧急通知" not in text and "### 紧急通知" not in text.split("\n")[1:], text
        assert "点我领奖" in text and "紧急通知" in text  # the words are still there
        assert "](http://" in text and "/conflicts?first_id=1)" in text  # its own link works
        assert text.lstrip().startswith("###")  # its own heading


@pytest.mark.parametrize("field", ["title", "code_name"])
def test_a_title_or_code_name_with_a_line_break_is_refused(field):
    with pytest.raises(ValidationError) as exc:
        ProjectCreate(firm_id=1, cluster="ENV", **{field: "第一行\n### 第二行"})
    assert exc.value.errors()[0]["loc"] == (field,)
    with pytest.raises(ValidationError):
        ProjectUpdate(version=1, **{field: "第一行\r第二行"})
    assert ProjectCreate(firm_id=1, cluster="ENV", title="一行 标题").title == "一行 标题"
