"""A confidential project's code name must not give the secret away: reports, exports,
briefings and messages print it everywhere in place of the title and the firm (SPEC §5), so it
may not contain the firm's name or one of its aliases, be any firm's name or alias (firms are
public: a code name reading as another firm points readers at the wrong one), or be the title
of a project the person naming it can see.

Only projects the actor may see (``crm.authz.project_visible``): checking every project made
the refusal an oracle — an officer could learn that another department's confidential project
with a guessed title exists (ATTACK7 review). A title the actor cannot see is a secret this
check must not confirm; the actor who types it already knows it, so naming their own project
so discloses nothing new."""

from __future__ import annotations

import unicodedata

from sqlalchemy import select
from sqlmodel import Session

from crm.authz import project_visible
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias
from crm.models.projects import Project
from crm.text import normalize_name


def _fold(s: str) -> str:
    return "".join(unicodedata.normalize("NFKC", s).lower().split())


def check_code_name(session: Session, actor: User, firm_id: int, code_name: str | None) -> None:
    """Refuse, on ``code_name``, a code name that names the firm (its Chinese or English name,
    that name without its company form, an alias: two characters or more), is any firm's name
    or alias, or equals the title of a project ``actor`` may see."""
    cn = (code_name or "").strip()
    if not cn:
        return
    folded = _fold(cn)
    firm = session.get(Firm, firm_id)
    names = [] if firm is None else [firm.name_zh, firm.name_en or "", normalize_name(firm.name_zh)]
    names += session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == firm_id))
    if any(len(n) >= 2 and n in folded for n in map(_fold, names)):
        raise ValidationFailed(_l("代号不能包含企业名称或别名"), field="code_name")
    norm = normalize_name(cn)
    if norm and (
        session.scalar(select(Firm.id).where(Firm.name_norm == norm).limit(1)) is not None
        or session.scalar(select(FirmAlias.id).where(FirmAlias.alias_norm == norm).limit(1))
        is not None
    ):
        raise ValidationFailed(_l("代号不能是企业名称或别名"), field="code_name")
    seen = select(Project.id).where(Project.title == cn, project_visible(actor)).limit(1)
    if session.scalar(seen) is not None:
        raise ValidationFailed(_l("代号不能与项目名称相同"), field="code_name")
