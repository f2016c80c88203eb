"""A confidential project's code name must not give the secret away: reports, exports,
briefings and messages print it everywhere in place of the title and the firm (SPEC §5), so it
may neither be a project's title nor contain the firm's name or one of its aliases."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlmodel import Session

from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.firms import Firm, FirmAlias
from crm.models.projects import Project
from crm.text import normalize_name


def _fold(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).lower().split())


def check_code_name(session: Session, firm_id: int, code_name: str | None) -> None:
    """Refuse, on ``code_name``, a code name that names the firm (its Chinese or English name,
    that name without its company form, an alias: two characters or more) or equals a project's
    title (any project's: a title of another department's confidential project would be
    printed as this one's code name)."""
    cn = (code_name or "").strip()
    if not cn:
        return
    folded = _fold(cn)
    firm = session.get(Firm, firm_id)
    names = [] if firm is None else [firm.name_zh, firm.name_en or "", normalize_name(firm.name_zh)]
    names += session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == firm_id))
    if any(len(n) >= 2 and n in folded for n in map(_fold, names)):
        raise ValidationFailed(_l("代号不能包含企业名称或别名"), field="code_name")
    if session.scalar(select(Project.id).where(Project.title == cn).limit(1)) is not None:
        raise ValidationFailed(_l("代号不能与项目名称相同"), field="code_name")
