"""The one message system: gettext catalogues and lazy messages, usable by every layer.

Source strings are Chinese (zh_CN, the default language); English lives in the ``en`` catalogue
(``crm/translations``). The domain never knows who reads a message, so it does not translate:
it builds a lazy :class:`Message` with ``_l("中文…", name=value)`` and whoever shows it renders
it in the reader's language —

- pages: templates print messages as usual; ``web.render`` renders a page inside
  ``using(lang)``, so ``str(message)`` is the page's language;
- the API: ``CRMError.to_dict(lang)`` (the caller's language) fills ``message``;
- e-mails and robots: ``crm.outbox.render`` renders each recipient's message in their language.

``str(message)`` outside any ``using`` block gives the default language (the CLI, logs).

Write a new message::

    from crm.i18n import _l
    raise ValidationFailed(_l("未知园区：%(park)s", park=code), field="park")

then run ``scripts/i18n.sh`` (extracts ``_l``/``_`` from crm/, api/, server/, web/ and the
templates) and add the English to ``scripts/translations/<area>.json``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"

_current: ContextVar[str | None] = ContextVar("crm_language", default=None)


@lru_cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of ``lang`` (unknown languages get the default one)."""
    if lang not in LANGUAGES:
        lang = DEFAULT
    return Translations.load(str(TRANSLATIONS), [lang], domain="messages")


def gettext(message: str, lang: str | None = None) -> str:
    return translations(lang or current_language()).gettext(message)


def normalise(lang: str | None) -> str:
    """``lang`` when it is one of ours ("en-US" → "en", "zh" → "zh_CN"), else the default."""
    if not lang:
        return DEFAULT
    if lang in LANGUAGES:
        return lang
    low = lang.replace("-", "_").lower()
    if low.startswith("en"):
        return "en"
    if low.startswith("zh"):
        return "zh_CN"
    return DEFAULT


def pick_language(*candidates: str | None) -> str:
    """The first candidate that is one of our languages, else the default."""
    for cand in candidates:
        if cand in LANGUAGES:
            return cand
    return DEFAULT


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an ``Accept-Language`` header, or None."""
    if not header:
        return None
    best: tuple[float, str] | None = None
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        low = tag.strip().lower()
        lang = "en" if low.startswith("en") else "zh_CN" if low.startswith("zh") else None
        if lang and (best is None or weight > best[0]):
            best = (weight, lang)
    return best[1] if best else None


def current_language() -> str:
    return _current.get() or DEFAULT


@contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Render messages in ``lang`` inside the block (``str(message)``, templates, errors)."""
    lang = normalise(lang)
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


class Message:
    """A message to be translated when it is shown, not when it is made.

    ``msgid`` is the Chinese source text (a gettext msgid, ``%(name)s`` placeholders);
    ``params`` fill them — a parameter that is itself a Message is rendered in the same
    language. Equal messages compare equal (tests, de-duplication)."""

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params

    def render(self, lang: str | None = None) -> str:
        lang = lang or current_language()
        text = translations(lang).gettext(self.msgid)
        if not self.params:
            return text
        values = {
            k: v.render(lang) if isinstance(v, Message) else v for k, v in self.params.items()
        }
        try:
            return text % values
        except (KeyError, ValueError, TypeError):  # a translation that lost a placeholder
            return self.msgid % values

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"_l({self.msgid!r}{''.join(f', {k}={v!r}' for k, v in self.params.items())})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return self.msgid == other.msgid and self.params == other.params
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.msgid, tuple(sorted(self.params))))

    def __add__(self, other: object) -> str:
        return str(self) + str(other)

    def __radd__(self, other: object) -> str:
        return str(other) + str(self)

    def __contains__(self, part: str) -> bool:  # "x" in message: any language's rendering
        return any(part in self.render(lang) for lang in LANGUAGES)


_l = Message


def render(value: Any, lang: str | None = None) -> Any:
    """``value`` with every Message in it rendered (strings, lists and dicts walked)."""
    if isinstance(value, Message):
        return value.render(lang)
    if isinstance(value, Mapping):
        return {k: render(v, lang) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, lang) for v in value]
    return value


class Bilingual(Message):
    """An old-style ``"中文 / English"`` string: each language shows its half. Only for text
    written before the catalogues carried it — new messages use ``_l``."""

    __slots__ = ()

    def render(self, lang: str | None = None) -> str:
        if " / " not in self.msgid:
            return self.msgid
        zh, en = self.msgid.split(" / ", 1)
        return en.strip() if (lang or current_language()) == "en" else zh.strip()


class Named(Message):
    """A name the data holds in both languages (the plan's cluster, park and chain-link names):
    each reader sees their own, the Chinese where there is no English."""

    __slots__ = ()

    def __init__(self, zh: str, en: str | None = None) -> None:
        super().__init__(zh, en=en or zh)

    def render(self, lang: str | None = None) -> str:
        return str(self.params["en"]) if (lang or current_language()) == "en" else self.msgid


def as_message(value: Any) -> Message:
    """``value`` as a Message: Messages as they are, any other text as a Bilingual."""
    return value if isinstance(value, Message) else Bilingual(str(value))


def validation_message(err: Mapping[str, Any]) -> Message:
    """One pydantic error (an item of ``ValidationError.errors()``) as a catalogue message,
    so that neither pages nor the API show pydantic's own English."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind in ("missing", "string_too_short") and (ctx.get("min_length") or 1) <= 1:
        return _l("必填")
    found = _bound_message(kind, ctx)
    if found is None:
        found = _kind_message(kind)
    if found is not None:
        return found
    error = ctx.get("error")
    if kind == "value_error":
        if isinstance(error, Exception) and error.args and isinstance(error.args[0], Message):
            return error.args[0]  # raise ValueError(_l("…")) in a validator
        if "email" in str(err.get("msg", "")).lower():
            return _l("邮箱格式不正确")
        if isinstance(error, Exception):
            return as_message(str(error))
    if kind == "assertion_error" and isinstance(error, Exception) and error.args:
        return as_message(error.args[0])
    return _l("无效")


# a length or size bound broken: pydantic's error type → (its bound in ctx, the message naming it)
_BOUNDS: dict[str, tuple[str, Callable[[Any], Message]]] = {
    "string_too_short": ("min_length", lambda n: _l("太短了（至少 %(n)s 个字符）", n=n)),
    "string_too_long": ("max_length", lambda n: _l("太长了（最多 %(n)s 个字符）", n=n)),
    "too_long": ("max_length", lambda n: _l("太多了（最多 %(n)s 项）", n=n)),  # a list's items
    "too_short": ("min_length", lambda n: _l("至少 %(n)s 项", n=n)),
    "greater_than": ("gt", lambda n: _l("必须大于 %(n)s", n=n)),
    "greater_than_equal": ("ge", lambda n: _l("不能小于 %(n)s", n=n)),
    "less_than": ("lt", lambda n: _l("必须小于 %(n)s", n=n)),
    "less_than_equal": ("le", lambda n: _l("不能大于 %(n)s", n=n)),
    "decimal_max_digits": ("", lambda _n: _l("数字太大")),
    "decimal_whole_digits": ("", lambda _n: _l("数字太大")),
    "decimal_max_places": ("decimal_places", lambda n: _l("最多 %(n)s 位小数", n=n)),
}


def _bound_message(kind: str, ctx: Mapping[str, Any]) -> Message | None:
    """A length or size bound broken, naming the bound."""
    if kind not in _BOUNDS:
        return None
    bound, message = _BOUNDS[kind]
    return message(ctx.get(bound))


def _kind_message(kind: str) -> Message | None:
    """A value of the wrong kind (not a number, a date, a choice…)."""
    if kind in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        return _l("请输入整数")
    if kind.startswith(("decimal", "float")):
        return _l("请输入数字")
    if kind.startswith(("datetime", "date", "time")):
        return _l("日期时间格式不正确")
    if kind.startswith("bool"):
        return _l("请选择是或否")
    if kind in ("literal_error", "enum"):
        return _l("请从列表中选择")
    if kind == "json_invalid":
        return _l("请求体不是有效的 JSON")
    if kind in (
        "string_type",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "string_pattern_mismatch",
    ):
        return _l("格式不正确")
    return None
