"""The one message system (crm.i18n): lazy messages rendered in the reader's language."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, ValidationError

from crm.errors import NotFound, ValidationFailed
from crm.i18n import Bilingual, _l, translations, using, validation_message
from crm.outbox.render import render_message

ROOT = Path(__file__).resolve().parents[2]


def test_a_message_is_translated_when_shown_not_when_made():
    m = _l("必填")
    assert m.render("zh_CN") == "必填"
    assert m.render("en") == "Required"
    assert str(m) == "必填"  # outside any reader: the default language
    with using("en"):
        assert str(m) == "Required" and f"{m}" == "Required"
    assert str(m) == "必填"


def test_parameters_fill_the_translation_and_nested_messages_follow_the_language():
    m = _l("太长了（最多 %(n)s 个字符）", n=40)
    assert m.render("en") == "Too long (at most 40 characters)"
    assert m.render("zh_CN") == "太长了（最多 40 个字符）"
    assert _l("不能小于 %(n)s", n=_l("必填")).render("en") == "Must be at least Required"
    assert _l("必填") == _l("必填") and _l("必填") != _l("无效")


def test_a_domain_error_speaks_the_readers_language():
    exc = NotFound(_l("未找到"))
    assert exc.to_dict("en")["message"] == "Not found"
    assert exc.to_dict("zh_CN")["message"] == "未找到"
    invalid = ValidationFailed(_l("必填"), field="name")
    assert invalid.to_dict("en")["errors"] == [{"field": "name", "message": "Required"}]
    # text written the old way still shows one language at a time
    old = NotFound("项目不存在 / no such project")
    assert old.to_dict("en")["message"] == "no such project"
    assert Bilingual("项目不存在 / no such project").render("zh_CN") == "项目不存在"


class _Shape(BaseModel):
    amount: int = Field(ge=0, le=10)
    name: str = Field(max_length=3)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_validation_errors_become_catalogue_messages(lang):
    with pytest.raises(ValidationError) as info:
        _Shape.model_validate({"amount": "x", "name": "abcdef"})
    shown = [validation_message(e).render(lang) for e in info.value.errors()]
    expect = {
        "zh_CN": ["请输入整数", "太长了（最多 3 个字符）"],
        "en": ["Enter a whole number", "Too long (at most 3 characters)"],
    }
    assert shown == expect[lang]
    with pytest.raises(ValidationError) as info:
        _Shape.model_validate({"amount": 11, "name": "a"})
    assert validation_message(info.value.errors()[0]).render(lang) == (
        "不能大于 10" if lang == "zh_CN" else "Must be at most 10"
    )


def test_every_message_made_in_code_has_an_english_translation():
    """Every ``_l("…")`` in crm/, api/, server/, web/ and jobs/ is in the catalogue, translated."""
    en = translations("en")
    missing = []
    for package in ("crm", "api", "server", "web", "jobs"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "_l"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    msgid = node.args[0].value
                    if en.gettext(msgid) == msgid:
                        missing.append(f"{path.relative_to(ROOT)}: {msgid}")
    assert not missing, "\n".join(missing)


def test_the_domain_never_imports_the_web_layer():
    for path in (ROOT / "crm").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(("web", "api", "server", "fastapi")), (path, name)


def test_a_message_in_an_email_is_in_the_recipients_language():
    from datetime import UTC, datetime

    item = {
        "title": _l("必填"),  # a lazy message in the context, as the domain would pass it
        "due": datetime(2026, 5, 1, 2, 0, tzinfo=UTC),
        "project": None,
        "firm": None,
        "link": "/followups",
    }
    with using("zh_CN"):  # whoever sends is reading Chinese; the recipient reads English
        en = render_message("followup_reminder", "en", {"name": "Li", "item": item})
        assert str(_l("必填")) == "必填"  # and the sender's language is put back
    assert "Required" in en.subject and "Required" in en.text and "Required" in en.html
    assert "必填" not in en.text
    zh = render_message("followup_reminder", "zh_CN", {"name": "李", "item": item})
    assert "必填" in zh.subject and "Required" not in zh.text


# (nothing left to convert: crm/imports, crm/backup.py and crm/dbuse.py were the last)
_CONVERTING: tuple[str, ...] = ()
_BILINGUAL = re.compile(r"[\u3400-\u9fff][^\n]* / [A-Za-z]|[A-Za-z)] / [\u3400-\u9fff]")


def test_no_two_language_strings_left_in_the_code():
    """A message is one catalogue entry, never "中文 / English" split at run time (docstrings
    may show the old form; they are not messages)."""
    root = Path(__file__).resolve().parents[2]
    found = []
    for package in ("crm", "api", "web", "server", "jobs"):
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(_CONVERTING) or "/migrations/" in rel:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
                and node.body
                and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in docstrings
                    and _BILINGUAL.search(node.value)
                ):
                    found.append(f"{rel}:{node.lineno}: {node.value[:60]!r}")
    assert not found, "two languages in one string:\n  " + "\n  ".join(found)
