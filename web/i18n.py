"""The pages' languages: a re-export of the one message system (``crm.i18n``)."""

from __future__ import annotations

from crm.i18n import DEFAULT, LANGUAGES, TRANSLATIONS, pick_language, translations

__all__ = ["DEFAULT", "LANGUAGES", "TRANSLATIONS", "pick_language", "translations"]
