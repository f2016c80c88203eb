"""The policy pack file: its shape, validation and parsing (no database here)."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from crm.errors import ValidationFailed
from crm.i18n import _l, validation_message

DEFAULT_PACK = Path(__file__).with_name("pack_2011_35.yaml")

Code = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_\-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PackMeta(_Strict):
    code: str = Field(min_length=1, max_length=40)
    version: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=300)


class TargetSpec(_Strict):
    code: str = Field(min_length=1, max_length=40)
    value: Decimal = Field(ge=0)
    unit: str = Field(max_length=20)
    year: int | None = Field(default=None, ge=1990, le=2100)
    label_zh: str = Field(min_length=1, max_length=200)
    label_en: str = Field(min_length=1, max_length=300)


class LinkSpec(_Strict):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)


class ClusterSpec(_Strict):
    code: str = Code
    kind: Literal["base", "cluster"]
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    target_2015: Decimal = Field(gt=0, max_digits=14, decimal_places=4)
    lead_department: str | None = None
    description: str | None = None
    links: list[LinkSpec] = Field(default_factory=list)

    @field_validator("links")
    @classmethod
    def _unique_links(cls, v: list[LinkSpec]) -> list[LinkSpec]:
        codes = [x.code for x in v]
        dup = {c for c in codes if codes.count(c) > 1}
        if dup:
            raise ValueError(f"duplicate chain-link codes {sorted(dup)}")
        return v


class ParkSpec(_Strict):
    code: str = Code
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=200)
    tier: Literal["core", "ring", "point", "bonded"]
    within: str | None = None
    district: str | None = Field(default=None, max_length=40)  # 区县, as on the city map
    clusters: list[str] = Field(default_factory=list)


class FirmSpec(_Strict):
    key: str = Field(min_length=1, max_length=40)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=300)
    aliases: list[str] = Field(default_factory=list)
    country: str | None = None
    global500_rank: int | None = Field(default=None, ge=1, le=500)
    china500_rank: int | None = Field(default=None, ge=1, le=500)
    leader: bool = False
    parent: str | None = None
    clusters: list[str] = Field(default_factory=list)


class Pack(_Strict):
    pack: PackMeta
    targets: list[TargetSpec]
    clusters: list[ClusterSpec]
    parks: list[ParkSpec]
    firms: list[FirmSpec] = Field(default_factory=list)
    checksum: str = ""


def _entry_name(data: dict[Any, Any], loc: tuple[int | str, ...]) -> str:
    """'clusters[3] (code IC)' for an error location, so the message names the bad entry."""
    if not loc:
        return "pack"
    head = loc[0]
    if len(loc) >= 2 and isinstance(loc[1], int):
        try:
            entry = data[head][loc[1]]
            ident = entry.get("code") or entry.get("key") if isinstance(entry, dict) else None
        except (KeyError, IndexError, TypeError):
            ident = None
        where = f"{head}[{loc[1]}]" + (f" ({ident})" if ident else "")
        rest = ".".join(str(x) for x in loc[2:])
        return where + (f".{rest}" if rest else "")
    return ".".join(str(x) for x in loc)


# a policy pack is a few levels deep; a file nested deeper, or a number longer than any id or
# figure, is not one (and PyYAML's scanner is quadratic in flow nesting, its composer recursive)
MAX_NESTING = 32
MAX_DIGITS = 40


class _PackLoader(yaml.SafeLoader):  # type: ignore[misc]
    """``yaml.SafeLoader`` that refuses, as a YAML error with its place, nesting deeper than
    ``MAX_NESTING`` and integers longer than ``MAX_DIGITS`` — before they cost seconds of CPU, a
    ``RecursionError`` or Python's 4,300-digit ``ValueError``."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= MAX_NESTING:
            raise yaml.scanner.ScannerError(None, None, "nested too deep", self.get_mark())
        super().fetch_flow_collection_start(TokenClass)

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise yaml.composer.ComposerError(
                    None, None, "nested too deep", self.peek_event().start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node: Any) -> int:
        if len(str(node.value)) > MAX_DIGITS:
            raise yaml.constructor.ConstructorError(None, None, "number too long", node.start_mark)
        return int(super().construct_yaml_int(node))


_PackLoader.add_constructor("tag:yaml.org,2002:int", _PackLoader.construct_yaml_int)


def parse_pack(text: str) -> Pack:
    """Parse and check a pack; any fault raises ValidationFailed naming the entry."""
    try:
        data = yaml.load(text, Loader=_PackLoader)
    except yaml.YAMLError as exc:
        # where the parser stopped, in the reader's words (never the parser's own text)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        if mark is None:
            raise ValidationFailed(_l("政策包不是有效的 YAML 文件"), field="pack") from exc
        raise ValidationFailed(
            _l(
                "政策包不是有效的 YAML：第 %(line)s 行第 %(column)s 列格式有误"
                "（请检查缩进、冒号和引号）",
                line=mark.line + 1,
                column=mark.column + 1,
            ),
            field="pack",
        ) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(
            _l("政策包须是一个包含 pack、targets、clusters、parks 的映射"), field="pack"
        )
    try:
        pack = Pack.model_validate(data)
    except ValidationError as exc:
        errs = exc.errors()
        raise ValidationFailed(
            _l(
                "政策包有 %(count)s 处错误，第一处：%(where)s：%(problem)s",
                count=len(errs),
                where=_entry_name(data, tuple(errs[0]["loc"])),
                problem=validation_message(errs[0]),
            ),
            field="pack",
        ) from exc
    _check_references(pack)
    pack.checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return pack


def _dupes(items: list[str]) -> set[str]:
    return {x for x in items if items.count(x) > 1}


def _check_references(pack: Pack) -> None:
    problems = [
        *_duplicates(pack),
        *_tree_problems(
            "parks",
            [(p.code, p.clusters, p.within) for p in pack.parks],
            "within unknown park",
            pack,
        ),
        *_tree_problems(
            "firms", [(f.key, f.clusters, f.parent) for f in pack.firms], "unknown parent", pack
        ),
        *(
            f"parks[{i}] ({p.code}): a bonded zone needs 'within'"
            for i, p in enumerate(pack.parks)
            if p.tier == "bonded" and p.within is None
        ),
    ]
    if problems:
        raise ValidationFailed("policy pack refused: " + "; ".join(problems[:10]))


def _duplicates(pack: Pack) -> list[str]:
    problems: list[str] = []
    for kind, codes in (
        ("clusters", [c.code for c in pack.clusters]),
        ("parks", [p.code for p in pack.parks]),
        ("firms", [f.key for f in pack.firms]),
        ("targets", [t.code for t in pack.targets]),
    ):
        if d := _dupes(codes):
            problems.append(f"{kind}: duplicate codes {sorted(d)}")
    return problems


# what one link of a tree names: its own key, its clusters, the key of the one it is within (a
# park's ``within``, a firm's ``parent``)
_Node = tuple[str, list[str], str | None]


def _tree_problems(kind: str, nodes: list[_Node], unknown: str, pack: Pack) -> list[str]:
    """A park's or firm's clusters must be the pack's own, and the park or firm it is within one
    of the same list other than itself."""
    clusters = {c.code for c in pack.clusters}
    keys = {key for key, _, _ in nodes}
    problems: list[str] = []
    for i, (key, named, up) in enumerate(nodes):
        where = f"{kind}[{i}] ({key})"
        problems += [f"{where}: unknown cluster {c!r}" for c in named if c not in clusters]
        if up is not None and (up not in keys or up == key):
            problems.append(f"{where}: {unknown} {up!r}")
    return problems


def read_pack(path: Path | str = DEFAULT_PACK) -> Pack:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(f"cannot read policy pack {p}: {exc.strerror}") from exc
    return parse_pack(text)
