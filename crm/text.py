"""Name normalisation, pinyin and the unified social credit code (统一社会信用代码)."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import RE_HANS
from pypinyin.seg.mmseg import seg as _mmseg
from pypinyin.seg.simpleseg import seg as _seg

_cut = _mmseg.cut

# company-form suffixes removed before names are compared (longest first)
_SUFFIXES_ZH = [
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "总公司",
    "分公司",
    "公司",
]
_SUFFIXES_EN = [
    "incorporated",
    "corporation",
    "company",
    "limited",
    "holdings",
    "co ltd",
    "corp",
    "inc",
    "ltd",
    "llc",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "co",
    "group",
]
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=200_000)
def normalize_name(name: str) -> str:
    """Fold case and width, drop punctuation and company suffixes: the uniqueness key."""
    s = unicodedata.normalize("NFKC", name or "").lower().strip()
    for suf in _SUFFIXES_ZH:
        if s.endswith(suf):
            if len(s) > len(suf):
                s = s[: -len(suf)]
            break
    words = [w for w in _PUNCT.split(s) if w]
    while len(words) > 1 and words[-1] in _SUFFIXES_EN:
        words.pop()
    if len(words) > 2 and " ".join(words[-2:]) == "co ltd":
        words = words[:-2]
    return "".join(words)


# what ``core_name`` also strips: company forms and region qualifiers, Chinese and English. A
# qualifier in brackets goes wherever it stands; the others only at either end of the name, so
# 西南铝业 keeps 西南 and 中国 is dropped from 中国惠普 but never from 华中国际.
_CORE_TAIL_ZH = sorted(
    {
        *_SUFFIXES_ZH,
        "有限责任",
        "有限",
        "股份",
        "集团",
        "控股",
        "子公司",
        "办事处",
        "代表处",
        "分厂",
    },
    key=len,
    reverse=True,
)
_REGIONS_ZH = sorted(
    {
        "中国",
        "中华",
        "大中华",
        "亚太",
        "重庆",
        "重庆市",
        "北京",
        "上海",
        "天津",
        "广州",
        "深圳",
        "成都",
        "四川",
        "香港",
        "西部",
        "华西",
    },
    key=len,
    reverse=True,
)
_CORE_TAIL_EN = {
    *_SUFFIXES_EN,
    "limited",
    "branch",
    "subsidiary",
    "office",
    "representative",
    "holding",
    "shareholding",
    "joint",
    "stock",
    "the",
}
_REGIONS_EN = {"china", "chongqing", "prc", "beijing", "shanghai", "asia", "pacific", "apac"}
_BRACKETS = re.compile(r"[(\[【〔][^)\]】〕]*[)\]】〕]")
# what ``core_name`` cuts off the end of a Chinese name, in the order it tries them, and the
# regions it cuts off the start, as tuples (one ``endswith``/``startswith`` says if any may apply)
_CORE_CUTS_ZH = (*_CORE_TAIL_ZH, *_REGIONS_ZH)
_CORE_TAILS_ZH = tuple(_CORE_TAIL_ZH)
_REGIONS_ZH_ALL = tuple(_REGIONS_ZH)


def _cut_zh_end(words: list[str]) -> bool:
    """Cut the first of ``_CORE_CUTS_ZH`` the last word ends in (never a lone word whole)."""
    last = words[-1]
    if not last.endswith(_CORE_CUTS_ZH):  # most words end in none: one test, not forty
        return False
    for suf in _CORE_CUTS_ZH:
        if last.endswith(suf) and (len(last) > len(suf) or len(words) > 1):
            cut = last[: -len(suf)]
            words[-1:] = [cut] if cut else []
            return True
    return False


def _cut_zh_start(words: list[str]) -> bool:
    """Cut the first of ``_REGIONS_ZH`` the first word starts with (never a lone word whole)."""
    first = words[0]
    if not first.startswith(_REGIONS_ZH_ALL):
        return False
    for pre in _REGIONS_ZH:
        if first.startswith(pre) and (len(first) > len(pre) or len(words) > 1):
            cut = first[len(pre) :]
            words[:1] = [cut] if cut else []
            return True
    return False


@lru_cache(maxsize=200_000)
def core_name(name: str) -> str:
    """The name with company forms and region qualifiers removed: what duplicates share.

    惠普（中国）有限公司, 中国惠普有限公司, 惠普（重庆）有限公司 and "HP (China) Co., Ltd." all
    become 惠普 / hp; 长安汽车重庆分公司 becomes 长安汽车. Never empty for a name that has
    letters: a qualifier alone (e.g. 中国有限公司) keeps what is left of it."""
    s = unicodedata.normalize("NFKC", name or "").lower()
    s = _BRACKETS.sub(" ", s)
    words = [w for w in _PUNCT.split(s) if w]
    changed = True
    while changed and words:
        last, first = words[-1], words[0]
        if len(words) > 1 and (last in _CORE_TAIL_EN or last in _REGIONS_EN):
            words.pop()
            continue
        if len(words) > 1 and (first in _REGIONS_EN or first == "the"):
            words.pop(0)
            continue
        changed = _cut_zh_end(words) or _cut_zh_start(words)
    return "".join(words) or normalize_name(name)


def company_form_only(name: str) -> bool:
    """True when a name is nothing but company forms (有限公司, 集团股份有限公司, "Co., Ltd."):
    no firm is named that."""
    words = [w for w in _PUNCT.split(unicodedata.normalize("NFKC", name or "").lower()) if w]
    if not words:
        return False
    for word in words:
        while word and word not in _CORE_TAIL_EN:
            if not word.endswith(_CORE_TAILS_ZH):
                return False
            cut = next(suf for suf in _CORE_TAIL_ZH if word.endswith(suf))
            word = word[: -len(cut)]
    return True


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _pinyin_direct(text: str) -> tuple[str, str]:
    syllables = [p for p in lazy_pinyin(text or "", style=Style.NORMAL, errors="ignore") if p]
    syllables = [re.sub(r"[^a-z0-9]", "", p.lower()) for p in syllables]
    syllables = [p for p in syllables if p]
    return "".join(syllables), "".join(p[0] for p in syllables)


def sounds(text: str) -> list[str]:
    """``text`` as it sounds, token by token: each Chinese character its syllable (no tone),
    each run of other letters and digits as it is (case, width and punctuation folded away):
    "慧-普 One1" → ["hui", "pu", "one1"]. What a name typed by its sound is compared on."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text or "").lower() if ch.isalnum())
    return [t for t in lazy_pinyin(folded, style=Style.NORMAL, errors="default") if t]


@lru_cache(maxsize=200_000)
def _word_pinyin(word: str) -> tuple[str, str]:
    return _pinyin_direct(word)


@lru_cache(maxsize=65536)
def to_pinyin(text: str) -> tuple[str, str]:
    """Full pinyin (no tones, no spaces) and initials of the Chinese characters in ``text``.

    pypinyin segments a string into words and converts each word on its own, so the result is
    the concatenation of the words' pinyin — cached per word, since firm names share most of
    their words (有限公司, 重庆, 科技 …). Equal to converting the whole string at once (tested)."""
    if not text or not _CJK.search(text):
        return "", ""  # nothing to convert: skip pypinyin's (slow) segmentation
    py: list[str] = []
    ini: list[str] = []
    # a name of Chinese characters only (most are) is one run: pypinyin's seg() would split it
    # by character class first, then cut the run into words — cut it directly
    words = _cut(text) if RE_HANS.match(text) else _seg(text)
    for word in words:
        if not RE_HANS.match(word):
            continue  # characters without pinyin are dropped, as errors="ignore" does
        p, i = _word_pinyin(word)
        py.append(p)
        ini.append(i)
    return "".join(py), "".join(ini)


def search_blob(names: list[str | None], known: dict[str, tuple[str, str]] | None = None) -> str:
    """Everything a search may match: names, normalised names, pinyin and initials.

    ``known`` carries pinyin already computed (e.g. in worker processes) for some names."""
    parts: list[str] = []
    for n in names:
        if not n:
            continue
        folded = unicodedata.normalize("NFKC", n).lower()
        py, ini = known[n] if known and n in known else to_pinyin(n)
        parts.extend([folded, normalize_name(n), core_name(n), py, ini])
    seen: list[str] = []
    for p in parts:
        if p and p not in seen:
            seen.append(p)
    # always ends with a space: a two-character query then always begins some trigram of the
    # text, which the SQLite search finds in the index (see the firm_search_short migration)
    return " | ".join(seen)[:3999] + " "


def like_pattern(text: str, lead: str = "%") -> str:
    """A LIKE pattern matching ``text`` after ``lead`` (anywhere, by default), its ``\\``, ``%``
    and ``_`` taken literally: use it with ``ESCAPE '\\'`` (``.like(p, escape="\\")``), which
    both databases then read alike (PostgreSQL's LIKE escapes with a backslash by default,
    SQLite's with nothing)."""
    return lead + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def fold_query(q: str) -> str:
    return unicodedata.normalize("NFKC", q or "").lower().strip()


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_code_check_digit(first17: str) -> str:
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def valid_credit_code(code: str) -> bool:
    """GB 32100-2015: 18 characters from the code set, the last a mod-31 check character."""
    code = (code or "").strip().upper()
    if len(code) != 18 or any(c not in _CREDIT_CHARS for c in code):
        return False
    return credit_code_check_digit(code[:17]) == code[17]


def pinyin_many(texts: list[str]) -> list[tuple[str, str]]:
    """to_pinyin for many names (the per-word cache makes a 50,000-name batch take seconds)."""
    return [to_pinyin(t) for t in texts]
