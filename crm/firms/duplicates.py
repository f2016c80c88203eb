"""Near-duplicate firms: what to warn about before a firm is saved (form, API and import).

A new name is compared on its *core* (``crm.text.core_name``: company forms and region
qualifiers removed, Chinese and English), on the aliases of the firms it may duplicate, and on
the credit code. Candidates come from the search index only — a few probes of the core's
leading characters, each bounded — never from all pairs; rapidfuzz ranks them.

``check_firm`` is the entry point of the form and the API (one firm: the probes are queries);
an import checks every row against a ``NameIndex`` of every firm's names built once, which
answers the same probes from memory, so a file of any size is checked (ATTACK8 P2-1).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlalchemy import func, or_, select
from sqlmodel import Session

from crm.errors import Conflict
from crm.firms.queries import firm_aliases
from crm.firms.schemas import DuplicateCandidate
from crm.firms.search import query_forms, search_condition
from crm.i18n import Message
from crm.models.firms import Firm, FirmAlias
from crm.text import _BRACKETS, _CJK, _PUNCT, _REGIONS_EN, core_name, fold_query, normalize_name
from crm.types import stored_id

# a candidate scoring below this is not shown
THRESHOLD = 80.0
# each probe of the search index reads at most this many firms (shortest names first: the
# firm a longer new name extends has the shorter name)
PROBE_LIMIT = 60
EXACT_REASONS = ("same_name", "credit_code")


class DuplicateFirm(Conflict):
    """A firm with the same or a very similar name exists; the caller may confirm and go on."""

    code = "duplicate_firm"

    def __init__(
        self,
        message: Message | str,
        candidates: list[DuplicateCandidate],
        exact: bool,
        field: str = "name_zh",
    ) -> None:
        super().__init__(
            message, field=field, candidates=[c.model_dump() for c in candidates], exact=exact
        )
        self.candidates = candidates
        self.exact = exact


@dataclass
class DuplicateCheck:
    """What ``check_firm`` found: ``exact`` ones refuse the firm, ``similar`` ones need a
    confirmation."""

    exact: list[DuplicateCandidate] = field(default_factory=list)
    similar: list[DuplicateCandidate] = field(default_factory=list)

    @property
    def all(self) -> list[DuplicateCandidate]:
        return self.exact + self.similar


def _probes(core: str) -> list[str]:
    """Search-index probes for a core name: the whole core and its leading characters (a
    Chinese core's first 2 and 4 characters; a Latin core's first word)."""
    out = [core] if len(core) >= 2 else []
    if _CJK.match(core):
        out += [core[:4], core[:2]]
    return [p for p in dict.fromkeys(out) if len(p) >= 2]


def _latin_probes(name: str) -> list[str]:
    """A Latin name's first significant word ("cisco" of "Cisco Systems (China) …")."""
    folded = _BRACKETS.sub(" ", unicodedata.normalize("NFKC", name or "").lower())
    for w in _PUNCT.split(folded):
        if w and not _CJK.search(w) and w not in _REGIONS_EN and w != "the":
            return [w] if len(w) >= 2 else []
    return []


def score(core: str, other: str) -> tuple[float, str]:
    """How alike two core names are (0–100) and why."""
    if not core or not other:
        return 0.0, ""
    if core == other:
        return 98.0, "same_core"
    short, long_ = (core, other) if len(core) <= len(other) else (other, core)
    if len(short) >= 2 and long_.startswith(short):
        return 85.0 + 10.0 * len(short) / len(long_), "contains"
    if len(short) >= 3 and short in long_:
        return 80.0 + 10.0 * len(short) / len(long_), "contains"
    ratio = fuzz.ratio(core, other, score_cutoff=THRESHOLD)  # 0 below it
    return (ratio, "similar_name") if ratio >= THRESHOLD else (0.0, "")


def find_similar(
    session: Session,
    name: str,
    credit_code: str | None = None,
    exclude_id: int | None = None,
    limit: int = 5,
) -> list[DuplicateCandidate]:
    """Existing firms that look like ``name``: same credit code, same normalised name or alias,
    the same or an extending core name, or a close fuzzy match — best first."""
    return check_firm(session, [name], credit_code=credit_code, exclude_id=exclude_id).all[:limit]


def check_firm(
    session: Session,
    names: Iterable[str | None],
    *,
    credit_code: str | None = None,
    exclude_id: int | None = None,
) -> DuplicateCheck:
    """Firms a new (or renamed) firm with these names (Chinese, English, aliases) and credit
    code may duplicate. ``exact``: same normalised name or alias, or same credit code — always
    refused. ``similar``: ranked by score, shown for confirmation.

    The import (crm/imports) calls this per row to warn as the form and the API do."""
    given = [n for n in dict.fromkeys(n.strip() for n in names if n and n.strip())]
    found = _Found(exclude_id)
    if credit_code:
        f = session.scalar(select(Firm).where(Firm.credit_code == credit_code.upper()))
        if f:
            found.add(f, 100, "credit_code")
    for f in _same_names(session, given):
        found.add(f, 100, "same_name")
    cores = [c for c in dict.fromkeys(core_name(x) for x in given) if c]
    cands = _probe(session, given, cores)
    aliases = firm_aliases(session, list(cands))
    for fid, f in cands.items():
        theirs = [core_name(x) for x in (f.name_zh, f.name_en, *aliases[fid]) if x]
        best, why = _best_score(cores, theirs)
        if best >= THRESHOLD:
            found.add(f, best, why)
    ranked = sorted(found.by_id.values(), key=lambda c: (-c.score, c.id))
    return DuplicateCheck(
        exact=[c for c in ranked if c.reason in EXACT_REASONS],
        similar=[c for c in ranked if c.reason not in EXACT_REASONS],
    )


class _Found:
    """The candidates so far, one per firm (never ``exclude_id``): an exact reason is kept
    over a similar one, else the higher score."""

    def __init__(self, exclude_id: int | None) -> None:
        self.exclude_id = exclude_id
        self.by_id: dict[int, DuplicateCandidate] = {}

    def add(self, f: Firm, s: float, reason: str) -> None:
        if f.id is None or f.id == self.exclude_id:
            return
        cur = self.by_id.get(f.id)
        exact_new = reason in EXACT_REASONS
        if cur is None or (exact_new and cur.reason not in EXACT_REASONS) or cur.score < s:
            if cur is not None and cur.reason in EXACT_REASONS and not exact_new:
                return
            self.by_id[f.id] = DuplicateCandidate(
                id=f.id, name_zh=f.name_zh, name_en=f.name_en, score=round(s, 1), reason=reason
            )


def _same_names(session: Session, names: list[str]) -> list[Firm]:
    """Firms whose normalised name or an alias is one of ``names``'."""
    norms = [n for n in (normalize_name(x) for x in names) if n]
    if not norms:
        return []
    return list(
        session.scalars(
            select(Firm).where(
                or_(
                    Firm.name_norm.in_(norms),
                    Firm.id.in_(select(FirmAlias.firm_id).where(FirmAlias.alias_norm.in_(norms))),
                )
            )
        )
    )


def _all_probes(names: list[str], cores: list[str]) -> list[str]:
    """The cores' and the Latin names' probes, each once."""
    probes: list[str] = []
    for c in cores:
        probes += _probes(c)
    for n in names:
        probes += _latin_probes(n)
    return list(dict.fromkeys(probes))


def _probe(session: Session, names: list[str], cores: list[str]) -> dict[int, Firm]:
    """The firms the search index finds for the cores' and the Latin names' probes, by id."""
    cands: dict[int, Firm] = {}
    for p in _all_probes(names, cores):
        cond = search_condition(p)
        if cond is None:
            continue
        for f in session.scalars(
            select(Firm).where(cond).order_by(func.length(Firm.name_zh), Firm.id).limit(PROBE_LIMIT)
        ):
            cands.setdefault(stored_id(f), f)
    return cands


def _best_score(cores: list[str], theirs: list[str]) -> tuple[float, str]:
    """The best score of any of our cores against any of theirs, and its reason (the first
    pair that reaches it)."""
    best, why = 0.0, ""
    for mine in cores:
        for other in theirs:
            s, r = score(mine, other)
            if s > best:
                best, why = s, r
    return best, why


def alias_clashes(
    session: Session, aliases: Iterable[str], firm_id: int | None
) -> list[tuple[str, DuplicateCandidate]]:
    """Aliases that another firm already has as a name (Chinese or English) or an alias
    (aliases are unique across firms): each with the firm that holds it."""
    by_norm = {normalize_name(a): a for a in aliases if normalize_name(a)}
    if not by_norm:
        return []
    out: list[tuple[str, DuplicateCandidate]] = []
    rows: list[tuple[Firm, str]] = [
        (f, norm)
        for f, norm in session.execute(
            select(Firm, FirmAlias.alias_norm)
            .join(FirmAlias, FirmAlias.firm_id == Firm.id)
            .where(FirmAlias.alias_norm.in_(list(by_norm)))
        )
    ]
    rows += [
        (f, f.name_norm)
        for f in session.scalars(select(Firm).where(Firm.name_norm.in_(list(by_norm))))
    ]
    for norm in by_norm:  # another firm's English name: found through the search index
        cond = search_condition(norm)
        if cond is None:
            continue
        rows += [
            (f, norm)
            for f in session.scalars(select(Firm).where(cond).limit(PROBE_LIMIT))
            if f.name_en and normalize_name(f.name_en) == norm
        ]
    seen: set[str] = set()
    for f, norm in rows:
        if f.id == firm_id or norm in seen:
            continue
        seen.add(norm)
        out.append(
            (
                by_norm[norm],
                DuplicateCandidate(
                    id=f.id, name_zh=f.name_zh, name_en=f.name_en, score=100, reason="alias"
                ),
            )
        )
    return out


class NameIndex:
    """Every firm's names, read once, to check many new names against (the import): the
    probes of ``check_firm`` answered from memory — the firms whose names contain a probe,
    shortest first, at most ``PROBE_LIMIT`` — and scored the same way. Only the names are
    held (not the pinyin the search also matches: a firm found through its pinyin alone never
    scores), and each pair of characters of a name points at the firms that have it.

    The candidates are those ``check_firm`` scores as similar, never the exact duplicates the
    import refuses on its own (same normalised name, alias or credit code)."""

    def __init__(self, firms: list[tuple[int, str, str | None, list[str]]]) -> None:
        # the order the probes read: shortest Chinese name first, then id
        firms = sorted(firms, key=lambda f: (len(f[1]), f[0]))
        self._firms = [(fid, zh, en) for fid, zh, en, _a in firms]
        self._names = [[n for n in (zh, en, *aliases) if n] for _f, zh, en, aliases in firms]
        self._texts = [" | ".join(fold_query(n) for n in names) for names in self._names]
        self._cores: dict[int, list[str]] = {}  # a firm's core names, once read
        # what check_firm calls the same name: the Chinese name and the aliases, normalised when
        # first needed (only for the firms that score)
        self._exact = [[zh, *aliases] for _f, zh, _e, aliases in firms]
        self._pairs: dict[str, list[int]] = {}
        for pos, text in enumerate(self._texts):
            for pair in {text[k : k + 2] for k in range(len(text) - 1)}:
                self._pairs.setdefault(pair, []).append(pos)
        self._found: dict[str, list[int]] = {}
        # a probe's firms' core names, side by side, and whose each is (position)
        self._probe_cores: dict[str, tuple[list[str], list[int]]] = {}

    @classmethod
    def load(cls, session: Session) -> NameIndex:
        aliases: dict[int, list[str]] = {}
        for fid, alias in session.execute(select(FirmAlias.firm_id, FirmAlias.alias)):
            aliases.setdefault(fid, []).append(alias)
        return cls(
            [
                (fid, zh, en, aliases.get(fid, []))
                for fid, zh, en in session.execute(select(Firm.id, Firm.name_zh, Firm.name_en))
            ]
        )

    def _containing(self, probe: str) -> list[int]:
        """The firms (positions) whose names contain the probe, shortest first, at most
        ``PROBE_LIMIT``: what ``search_condition`` finds, less the pinyin-only matches."""
        if probe in self._found:
            return self._found[probe]
        hits: set[int] = set()
        for form in query_forms(probe):
            pairs = [self._pairs.get(form[k : k + 2], []) for k in range(len(form) - 1)]
            if not pairs:
                continue
            n = 0
            for pos in min(pairs, key=len):  # the rarest pair's firms, in order
                if form in self._texts[pos]:
                    hits.add(pos)
                    n += 1
                    if n == PROBE_LIMIT:
                        break
        found = sorted(hits)[:PROBE_LIMIT]
        self._found[probe] = found
        return found

    def _core_names(self, pos: int) -> list[str]:
        """A firm's core names (Chinese, English, aliases), once read."""
        theirs = self._cores.get(pos)
        if theirs is None:
            theirs = self._cores[pos] = [core_name(x) for x in self._names[pos]]
        return theirs

    def _cores_of_probe(self, probe: str) -> tuple[list[str], list[int]]:
        """The core names of the firms a probe finds, in one list, and each one's firm."""
        got = self._probe_cores.get(probe)
        if got is None:
            cores: list[str] = []
            owners: list[int] = []
            for pos in self._containing(probe):
                theirs = self._core_names(pos)
                cores += theirs
                owners += [pos] * len(theirs)
            got = self._probe_cores[probe] = (cores, owners)
        return got

    def similar(self, names: Iterable[str | None]) -> list[DuplicateCandidate]:
        """The firms these names (Chinese, English, aliases) may duplicate, best first.

        The firms the probes find are those ``check_firm`` scores; only the ones that can reach
        ``THRESHOLD`` are scored with ``score``: a name of theirs equal to, containing or
        contained in one of our cores, or one ``fuzz.ratio`` puts at ``THRESHOLD`` or above
        (found among all of them in one call) — every other pair scores 0 in ``score``."""
        given = [n for n in dict.fromkeys(n.strip() for n in names if n and n.strip())]
        norms = {normalize_name(n) for n in given} - {""}
        cores = [c for c in dict.fromkeys(core_name(x) for x in given) if c]
        theirs: list[str] = []
        owners: list[int] = []
        for probe in _all_probes(given, cores):
            their_cores, whose = self._cores_of_probe(probe)
            theirs += their_cores
            owners += whose
        if not theirs:
            return []
        reach: set[int] = set()
        for mine in cores:
            for _c, _s, k in process.extract(
                mine, theirs, scorer=fuzz.ratio, score_cutoff=THRESHOLD, limit=None
            ):
                reach.add(owners[k])
            reach.update(
                owners[k] for k, other in enumerate(theirs) if mine in other or other in mine
            )
        found: list[DuplicateCandidate] = []
        for pos in reach:
            if norms.intersection(map(normalize_name, self._exact[pos])):
                continue  # an exact duplicate: refused, not asked about
            best, why = _best_score(cores, self._core_names(pos))
            if best >= THRESHOLD:
                fid, zh, en = self._firms[pos]
                found.append(
                    DuplicateCandidate(
                        id=fid, name_zh=zh, name_en=en, score=round(best, 1), reason=why
                    )
                )
        return sorted(found, key=lambda c: (-c.score, c.id))
