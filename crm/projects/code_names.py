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

import re
import unicodedata

from sqlalchemy import select
from sqlmodel import Session

from crm.authz import project_visible
from crm.db import CODE_NAME_LOCK, one_at_a_time
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias
from crm.models.projects import Project
from crm.text import _CJK, core_name, normalize_name, sounds


def _fold(s: str) -> str:
    """Case, width, spaces and punctuation folded away: 惠-普 and 惠普 are one name."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", s).lower() if ch.isalnum())


# words of an English name that name no one firm: a code name may say "Technology" or "Group"
_GENERIC_WORDS = frozenset(
    [
        "auto",
        "automotive",
        "bank",
        "biotech",
        "chemical",
        "chemicals",
        "communications",
        "computer",
        "digital",
        "electric",
        "electronic",
        "electronics",
        "energy",
        "engineering",
        "equipment",
        "global",
        "group",
        "holding",
        "holdings",
        "industrial",
        "industries",
        "industry",
        "international",
        "investment",
        "logistics",
        "machinery",
        "manufacturing",
        "material",
        "materials",
        "medical",
        "motor",
        "motors",
        "network",
        "networks",
        "power",
        "science",
        "sciences",
        "semiconductor",
        "service",
        "services",
        "software",
        "solutions",
        "system",
        "systems",
        "tech",
        "technologies",
        "technology",
        "trading",
        "company",
        "corporation",
        "incorporated",
        "limited",
        "china",
        "chongqing",
        "asia",
        "pacific",
    ]
)


def names_the_firm(code_name: str, names: list[str]) -> bool:
    """Whether ``code_name`` names a firm known by ``names`` (its names, core names, aliases):
    - as written, two characters or more (case, width, spaces and punctuation folded away:
      惠-普一号);
    - by its sound: the pinyin of a Chinese name of two characters or more, as homophones
      (慧普一号) or typed (HuiPu一号, huipu-01), or its initials of three letters or more (jdf);
    - by a distinctive word of an English name, four letters or more (Hewlett of Hewlett
      Packard; not Technology or Group)."""
    written = _fold(code_name)
    heard = sounds(code_name)
    typed = re.findall(r"[a-z0-9]+", written)  # what was typed in letters, not heard
    for name in names:
        folded = _fold(name)
        if len(folded) >= 2 and folded in written:
            return True
        syllables = sounds("".join(_CJK.findall(folded)))
        if len(syllables) >= 2:
            n = len(syllables)
            if any(heard[i : i + n] == syllables for i in range(len(heard) - n + 1)):
                return True
            spelled, initials = "".join(syllables), "".join(s[0] for s in syllables)
            if any(spelled in t or (len(initials) >= 3 and initials in t) for t in typed):
                return True
        words = re.findall(r"[a-z0-9]+", unicodedata.normalize("NFKC", name).lower())
        if any(len(w) >= 4 and w not in _GENERIC_WORDS and w in written for w in words):
            return True
    return False


def _firm_names(session: Session, firm_id: int) -> list[str]:
    firm = session.get(Firm, firm_id)
    names: list[str] = []
    if firm is not None:
        names += [firm.name_zh, normalize_name(firm.name_zh), core_name(firm.name_zh)]
        if firm.name_en:
            names += [firm.name_en, core_name(firm.name_en)]
    for alias in session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == firm_id)):
        names += [alias, core_name(alias)]
    return names


def check_code_name(
    session: Session,
    actor: User,
    firm_id: int,
    code_name: str | None,
    project_id: int | None = None,
) -> None:
    """Refuse, on ``code_name``, a code name that names the firm (``names_the_firm``: its
    names, core names and aliases, as written, by their sound or initials, or by a distinctive
    English word), is any firm's name or alias, equals the title of a project ``actor`` may
    see, or is another project's code name (``project_id``: the project being renamed, not
    another)."""
    cn = (code_name or "").strip()
    if not cn:
        return
    if names_the_firm(cn, _firm_names(session, firm_id)):
        raise ValidationFailed(_l("代号不能包含企业名称或别名"), field="code_name")
    # two projects given one code name at once: the second waits for the first to commit and
    # then finds its name taken (PostgreSQL; SQLite serialises writes)
    one_at_a_time(session, CODE_NAME_LOCK)
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
