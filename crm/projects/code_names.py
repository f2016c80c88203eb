"""A confidential project's code name must not give the secret away: reports, exports,
briefings and messages print it everywhere in place of the title and the firm (SPEC §5), so it
may not contain the firm's name or one of its aliases, be any firm's name or alias (firms are
public: a code name reading as another firm points readers at the wrong one), or be the title
of a project the person naming it can see.

Only projects the actor may see (``crm.authz.project_visible``): checking every project made
the refusal an oracle — an officer could learn that another department's confidential project
with a guessed title exists (ATTACK7 review). A title the actor cannot see is a secret this
check must not confirm; the actor who types it already knows it, so naming their own project
so discloses nothing new.

A code name is also unique among every project's code names, every department's (ATTACK8
P3-5): reports and digests name confidential projects by code name alone, so two under one name
read as one. That check covers projects the actor cannot see, so its refusal is the same
message as the public reasons (a firm's name or alias, a title they can see): "not available".
What it can tell is that some project goes by that code name — never its firm, department or
title, and code names are what reports print anyway."""

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


def check_code_name(
    session: Session,
    actor: User,
    firm_id: int,
    code_name: str | None,
    project_id: int | None = None,
) -> None:
    """Refuse, on ``code_name``, a code name that names the firm (its Chinese or English name,
    that name without its company form, an alias: two characters or more), is any firm's name
    or alias, equals the title of a project ``actor`` may see, or is another project's code
    name (``project_id``: the project being renamed, not another)."""
    cn = (code_name or "").strip()
    if not cn:
        return
    folded = _fold(cn)
    firm = session.get(Firm, firm_id)
    names = [] if firm is None else [firm.name_zh, firm.name_en or "", normalize_name(firm.name_zh)]
    names += session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == firm_id))
    if any(len(n) >= 2 and n in folded for n in map(_fold, names)):
        raise ValidationFailed(_l("代号不能包含企业名称或别名"), field="code_name")
    if _taken(session, actor, cn, project_id):
        raise ValidationFailed(UNAVAILABLE, field="code_name")


# one message whatever the reason: a taken code name may be another department's secret
UNAVAILABLE = _l("代号不可用（已被使用，或是企业名称、别名或项目名称），请换一个")


def _taken(session: Session, actor: User, cn: str, project_id: int | None) -> bool:
    """Any firm's name or alias, the title of a project ``actor`` may see, or any other
    project's code name (case and width folded)."""
    norm = normalize_name(cn)
    if norm and (
        session.scalar(select(Firm.id).where(Firm.name_norm == norm).limit(1)) is not None
        or session.scalar(select(FirmAlias.id).where(FirmAlias.alias_norm == norm).limit(1))
        is not None
    ):
        return True
    if session.scalar(
        select(Project.id).where(Project.title == cn, project_visible(actor)).limit(1)
    ):
        return True
    others = select(Project.code_name).where(Project.code_name.is_not(None))
    if project_id is not None:
        others = others.where(Project.id != project_id)
    folded = _fold(cn)  # a few thousand at most, compared as typed: folded
    return any(_fold(x) == folded for x in session.scalars(others) if x is not None)
