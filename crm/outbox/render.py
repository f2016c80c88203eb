"""Message bodies from templates: plain text and HTML, in the recipient's language.

Templates live in crm/outbox/templates/<kind>.txt (a ``subject`` block and a ``body`` block),
<kind>.html and, for group robots, <kind>.md. Source strings are Chinese (``_("中文")``), as in
the pages; English comes from the same gettext catalogue (crm/translations, see crm.i18n).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from crm.clock import to_local
from crm.config import get_settings
from crm.i18n import translations, using

TEMPLATES = Path(__file__).with_name("templates")
LANGS = ("zh_CN", "en")


def _fmt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(value)
    return local.strftime(fmt) if local else ""


# what a value may not carry into a group robot's markdown: a line break (a new heading or
# list item), a link ([text](url)) or a mention / tag (<@all>) — shown as their full-width
# look-alikes, so the text reads the same and does nothing (ATTACK7 P3-12)
_MARKDOWN_INERT = str.maketrans({"\r": " ", "\n": " ", "[": "［", "]": "］", "<": "＜", ">": "＞"})


def _inert(value: Any) -> Any:
    """Every ``{{ value }}`` of a robot template: the template's own markdown (its headings,
    list marks and links around the values) stays; the values cannot add any."""
    return value.translate(_MARKDOWN_INERT) if isinstance(value, str) else value


@lru_cache
def _env(lang: str, html: bool, markdown: bool = False) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=html,
        finalize=_inert if markdown else None,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["local"] = _fmt
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def language_of(value: str | None) -> str:
    return value if value in LANGS else get_settings().default_language


@dataclass
class Rendered:
    subject: str
    text: str
    html: str | None


def _block(env: jinja2.Environment, name: str, block: str, ctx: dict[str, Any]) -> str:
    tmpl = env.get_template(name)
    return "".join(tmpl.blocks[block](tmpl.new_context(ctx)))


def email_message(
    key: str, kind: str, email: str | None, user_id: int | None, r: Rendered
) -> dict[str, Any]:
    """The outbox row of one rendered e-mail to one user (what ``enqueue_many`` takes)."""
    return {
        "dedup_key": key,
        "kind": kind,
        "channel": "email",
        "recipient": email,
        "user_id": user_id,
        "subject": r.subject,
        "body_text": r.text,
        "body_html": r.html,
    }


def render_message(kind: str, lang: str, ctx: dict[str, Any]) -> Rendered:
    """Subject, text and HTML of one message of ``kind`` for a recipient speaking ``lang``."""
    lang = language_of(lang)
    ctx = {"base_url": get_settings().base_url.rstrip("/"), "lang": lang, **ctx}
    text_env = _env(lang, False)
    with using(lang):  # lazy messages (crm.i18n) in the context: the recipient's language
        subject = " ".join(_block(text_env, f"{kind}.txt", "subject", ctx).split())
        text = _block(text_env, f"{kind}.txt", "body", ctx)
        html = _env(lang, True).get_template(f"{kind}.html").render(ctx)
    return Rendered(subject=subject[:300], text=text, html=html)


def render_robot(kind: str, lang: str, ctx: dict[str, Any]) -> Rendered:
    """A group-robot message (markdown) of ``kind``: its title and text."""
    lang = language_of(lang)
    ctx = {"base_url": get_settings().base_url.rstrip("/"), "lang": lang, **ctx}
    env = _env(lang, False, markdown=True)
    with using(lang):
        subject = " ".join(_block(env, f"{kind}.md", "subject", ctx).split())
        text = _block(env, f"{kind}.md", "body", ctx)
    return Rendered(subject=subject[:300], text=text, html=None)
