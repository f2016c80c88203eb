"""gettext catalogues for the pages: zh_CN by default, English by a switch."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

TRANSLATIONS = Path(__file__).with_name("translations")
LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT = "zh_CN"


@lru_cache
def translations(lang: str) -> NullTranslations:
    if lang not in LANGUAGES:
        lang = DEFAULT
    t = Translations.load(str(TRANSLATIONS), [lang], domain="messages")
    return t


def pick_language(cookie: str | None, user_language: str | None) -> str:
    for cand in (cookie, user_language):
        if cand in LANGUAGES:
            return cand  # type: ignore[return-value]
    return DEFAULT
