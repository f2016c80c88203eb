"""Import firms: checked, duplicates refused, near-duplicates warned of, inserted in bulk."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import Session

from crm.authz import holder_refusal, may_set_owner
from crm.errors import ValidationFailed
from crm.firms.duplicates import NameIndex
from crm.firms.rows import name_norm
from crm.firms.schemas import FirmCreate
from crm.i18n import _l
from crm.imports import progress
from crm.imports.columns import headers_of
from crm.imports.common import (
    ImportReport,
    RowError,
    _bool,
    _cluster_lookup,
    _Converter,
    _int,
    _pydantic_errors,
    _split,
    _user_lookup,
)
from crm.imports.firm_writer import Good, write_firms
from crm.imports.importer import Importer, Run
from crm.models.accounts import User
from crm.models.firms import Firm, FirmAlias
from crm.text import normalize_name

FIRM_HEADERS = headers_of("firms")


@dataclass
class _Taken:
    """What a firm row must not take again: the database's names, aliases and credit codes,
    and those of the file's rows accepted so far (each → its firm id or row number)."""

    names: dict[str, int]
    stored_names: set[tuple[str, str]]  # (normalised, as stored): the same firm again
    aliases: dict[str, int]
    codes: dict[str, int]
    file_names: dict[str, int] = field(default_factory=dict)
    file_codes: dict[str, int] = field(default_factory=dict)
    file_aliases: dict[str, int] = field(default_factory=dict)  # normalised alias → its row

    @classmethod
    def load(cls, session: Session) -> _Taken:
        names: dict[str, int] = {}
        stored: set[tuple[str, str]] = set()
        for norm, fid, name in session.execute(select(Firm.name_norm, Firm.id, Firm.name_zh)):
            names[norm] = fid
            stored.add((norm, name.strip()))
        aliases = dict(session.execute(select(FirmAlias.alias_norm, FirmAlias.firm_id)).all())
        codes = dict(
            session.execute(
                select(Firm.credit_code, Firm.id).where(Firm.credit_code.is_not(None))
            ).all()
        )
        return cls(names, stored, aliases, codes)

    def same_firm_again(self, norm: str, name_zh: str) -> bool:
        """The same firm, written the same way: a re-import."""
        dup = self.names.get(norm) or self.aliases.get(norm)
        return bool(dup) and (norm, name_zh.strip()) in self.stored_names

    def collisions(self, i: int, d: FirmCreate, norm: str) -> list[RowError]:
        """The row's name, credit code and aliases against the database's and the file's."""
        errs: list[RowError] = []
        dup = self.names.get(norm) or self.aliases.get(norm)
        if dup:
            errs.append(RowError(i, "name_zh", _l("企业已存在（编号 %(id)s）", id=dup)))
        elif norm in self.file_names or norm in self.file_aliases:
            row = self.file_names.get(norm) or self.file_aliases[norm]
            errs.append(RowError(i, "name_zh", _l("与第 %(row)s 行重复", row=row)))
        cc = d.credit_code
        if cc and cc in self.codes:
            errs.append(
                RowError(
                    i, "credit_code", _l("统一社会信用代码已存在（编号 %(id)s）", id=self.codes[cc])
                )
            )
        elif cc and cc in self.file_codes:
            errs.append(
                RowError(i, "credit_code", _l("与第 %(row)s 行重复", row=self.file_codes[cc]))
            )
        errs.extend(self._alias_collisions(i, d, norm))
        return errs

    def _alias_collisions(self, i: int, d: FirmCreate, norm: str) -> list[RowError]:
        """Aliases are unique across firms (a unique index holds it): not another firm's name
        or alias, here or on another row of the file."""
        errs: list[RowError] = []
        for a in d.aliases:
            an = normalize_name(a)
            if not an or an == norm:
                continue
            if self.names.get(an) or self.aliases.get(an):
                errs.append(
                    RowError(i, "aliases", _l("别名“%(alias)s”已属于另一家企业", alias=a[:60]))
                )
            elif an in self.file_names or self.file_aliases.get(an, i) != i:
                other_row = self.file_names.get(an) or self.file_aliases[an]
                errs.append(RowError(i, "aliases", _l("与第 %(row)s 行重复", row=other_row)))
        return errs

    def take(self, i: int, d: FirmCreate, norm: str) -> None:
        for a in d.aliases:
            self.file_aliases.setdefault(normalize_name(a), i)
        self.file_names[norm] = i
        if d.credit_code:
            self.file_codes[d.credit_code] = i

    def known(self, name: str) -> bool:
        """A parent the import can find: a firm there or a row of the file."""
        n = normalize_name(name)
        return n in self.names or n in self.file_names or n in self.aliases

    def firm_id(self, name: str) -> int | None:
        n = normalize_name(name)
        return self.names.get(n) or self.aliases.get(n)


def _firm_input(i: int, row: dict[str, str], errs: list[RowError]) -> FirmCreate | None:
    conv = _Converter(i, row, errs)
    g500 = conv("global500_rank", _int)
    c500 = conv("china500_rank", _int)
    leader = conv("is_leader", _bool)
    try:
        return FirmCreate(
            name_zh=row.get("name_zh", ""),
            name_en=row.get("name_en") or None,
            aliases=_split(row.get("aliases", "")),
            country=row.get("country") or None,
            headquarters=row.get("headquarters") or None,
            global500_rank=g500,
            china500_rank=c500,
            is_leader=bool(leader),
            website=row.get("website") or None,
            credit_code=row.get("credit_code") or None,
            notes=row.get("notes") or None,
        )
    except ValidationError as exc:
        errs.extend(_pydantic_errors(i, exc))
        return None


@dataclass
class _References:
    """What a row's clusters and owner are looked up in, and who imports (the owner rule)."""

    run: Run
    clusters: dict[str, str]
    users: dict[str, int]

    @classmethod
    def load(cls, run: Run) -> _References:
        return cls(run, _cluster_lookup(run.session), _user_lookup(run.session))

    def check(self, i: int, row: dict[str, str]) -> tuple[list[str], int | None, list[RowError]]:
        """The row's cluster codes and owner, with what is wrong with them."""
        errs: list[RowError] = []
        codes_in = []
        for c in _split(row.get("clusters", "")):
            code = self.clusters.get(c.lower())
            if code is None:
                errs.append(RowError(i, "clusters", _l("未知产业集群：%(name)s", name=c[:60])))
            else:
                codes_in.append(code)
        owner_id = None
        if row.get("owner"):
            owner_id = self.users.get(row["owner"].strip().lower())
            if owner_id is None:
                errs.append(
                    RowError(i, "owner", _l("用户不存在：%(name)s", name=row["owner"][:60]))
                )
            elif why := holder_refusal(self.run.session.get(User, owner_id)):
                errs.append(RowError(i, "owner", why))
            elif not may_set_owner(self.run.actor, None, self.run.session.get(User, owner_id)):
                # the same rule as create_firm: managers name owners of their department only
                errs.append(RowError(i, "owner", _l("只能指定本部门人员为负责人")))
        return codes_in, owner_id, errs


def _checked_rows(run: Run, taken: _Taken) -> list[Good]:
    """Every row checked on its own and against the others: the good ones, in order; the
    rest go to ``rep.rejected`` (or ``rep.unchanged``: the same firm again)."""
    refs = _References.load(run)
    rep = run.rep
    good: list[Good] = []
    for i, row in progress.rows(run.sheet.rows, "checking"):
        errs: list[RowError] = []
        data_in = _firm_input(i, row, errs)
        if errs or data_in is None:
            rep.rejected.extend(errs)
            continue
        codes_in, owner_id, errs = refs.check(i, row)
        rep.rejected.extend(errs)
        try:
            norm = name_norm(data_in.name_zh)
        except ValidationFailed as exc:
            rep.rejected.append(RowError(i, exc.field, exc.message))
            continue
        if not errs and taken.same_firm_again(norm, data_in.name_zh):
            rep.unchanged += 1
            continue
        collisions = taken.collisions(i, data_in, norm)
        rep.rejected.extend(collisions)
        if errs or collisions:
            continue
        taken.take(i, data_in, norm)
        good.append((i, data_in, codes_in, (row.get("parent") or "").strip() or None, owner_id))
    return good


def _without_rejected(rep: ImportReport, good: list[Good]) -> list[Good]:
    bad_rows = {e.row for e in rep.rejected}
    return [g for g in good if g[0] not in bad_rows]


def _parents_checked(
    session: Session, rep: ImportReport, good: list[Good], taken: _Taken, confirmed: set[int]
) -> list[Good]:
    """Parents: an existing firm or a firm earlier/later in the same file; then the rows held
    back as near-duplicates, and the rows whose parent is one of them."""
    for i, _d, _c, parent, _o in good:
        if parent and not taken.known(parent):
            rep.rejected.append(
                RowError(i, "parent", _l("母公司不存在：%(name)s", name=parent[:60]))
            )
    if rep.rejected:
        good = _without_rejected(rep, good)
    _near_duplicates(session, rep, good, confirmed)
    if not rep.held:
        return good
    good = [g for g in good if g[0] not in rep.held]
    # a firm whose parent is a held row of the file waits for it
    for i, _d, _c, parent, _o in good:
        if parent and taken.file_names.get(normalize_name(parent)) in rep.held:
            rep.rejected.append(
                RowError(
                    i,
                    "parent",
                    _l(
                        "母公司在第 %(row)s 行，那一行还没有确认导入",
                        row=taken.file_names[normalize_name(parent)],
                    ),
                )
            )
    return _without_rejected(rep, good)


def _import_firms(run: Run) -> ImportReport:
    """Import firms. Duplicates (same normalised name, alias or credit code — in the database
    or earlier in the file) are rejected with the firm they duplicate. A row that may duplicate
    a firm (the check of the form and the API: 京东方科技集团有限公司 beside 京东方) is held back
    with its candidates unless its row number is in ``confirmed`` ("import anyway"); held rows
    are rejected rows that do not stop the others."""
    session, rep = run.session, run.rep
    taken = _Taken.load(session)
    good = _checked_rows(run, taken)
    good = _parents_checked(session, rep, good, taken, set(run.options.get("confirmed", ())))
    if run.stops(len(good)):
        return rep
    progress.tick("importing", 0, len(good))
    # only the rejected rows are needed from here on (the rejected-rows workbook): the others'
    # cells go now, and the firms are built and written a batch at a time, so the import holds
    # one batch of rows at once, not the file's (memory: SPEC's 512 MB for a 10 MB upload)
    run.sheet.keep_rows({e.row for e in rep.rejected})
    ids = write_firms(session, good, taken.firm_id)
    return run.applied(
        "firm",
        len(ids),
        first_id=ids[0] if ids else None,
        last_id=ids[-1] if ids else None,
    )


import_firms = Importer("firms", FIRM_HEADERS, _import_firms)


def _near_duplicates(
    session: Session, rep: ImportReport, good: list[Any], confirmed: set[int]
) -> None:
    """The check the form and the API make (京东方科技集团有限公司 beside 京东方, "Schneider
    Electric" beside 施耐德), for every row that would go in, whatever the file's size: its
    candidates are kept in the report; a row nobody confirmed is held back (a check says it
    would be). The firms' names are read once (``NameIndex``), not queried row by row."""
    if not good:
        return
    index = NameIndex.load(session)
    for i, d, *_rest in good:
        found = index.similar([d.name_zh, d.name_en, *d.aliases])
        if not found:
            continue
        rep.candidates[i] = {
            "name": d.name_zh,
            "firms": [c.model_dump() for c in found[:5]],
        }
        # "名（编号）、…" in Chinese, "name (id); …" in English: messages, not text joined here
        names = _l("%(name)s（%(id)s）", name=found[0].name_zh, id=found[0].id)
        for c in found[1:3]:
            names = _l("%(a)s、%(b)s", a=names, b=_l("%(name)s（%(id)s）", name=c.name_zh, id=c.id))
        if i in confirmed:
            rep.warnings.append(
                RowError(
                    i, "name_zh", _l("可能与已有企业重复：%(names)s；已确认仍然导入", names=names)
                )
            )
        else:
            rep.held.add(i)
            rep.rejected.append(
                RowError(
                    i,
                    "name_zh",
                    _l("可能与已有企业重复：%(names)s；确认“仍然导入”后才会导入", names=names),
                )
            )
