"""A new firm's row, built once: the form, the API (``create_firm``) and the import (in bulk)
all make a firm's columns here — the normalised name (refused when nothing is left of it), its
pinyin and initials, the search text, the derived tier — and its alias rows. The input rules
are :class:`crm.firms.schemas.FirmCreate`'s, also shared."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.errors import ValidationFailed
from crm.firms.schemas import FirmCreate
from crm.i18n import _l
from crm.models.firms import derive_tier
from crm.text import normalize_name, search_blob, to_pinyin

EXCLUDED = {"aliases", "clusters"}  # their own tables


def name_norm(name_zh: str) -> str:
    """The firm name as compared (duplicates, aliases); nothing left of it is refused."""
    norm = normalize_name(name_zh)
    if not norm:
        raise ValidationFailed(_l("企业名称无效"), field="name_zh")
    return norm


def firm_values(
    data: FirmCreate,
    *,
    source: str,
    now: datetime,
    owner_id: int | None = None,
    pinyin: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The columns of a new firm. ``pinyin`` (name pinyin, initials) when already computed
    (the import warms them on all cores); ``owner_id`` overrides the input's."""
    py, ini = pinyin if pinyin is not None else to_pinyin(data.name_zh)
    values = data.model_dump(exclude=EXCLUDED)
    if owner_id is not None:
        values["owner_id"] = owner_id
    values.update(
        name_norm=name_norm(data.name_zh),
        name_pinyin=py,
        name_initials=ini,
        search_text=search_blob(
            [data.name_zh, data.name_en, *data.aliases], known={data.name_zh: (py, ini)}
        ),
        tier=derive_tier(data.global500_rank, data.china500_rank, data.is_leader),
        source=source,
        created_at=now,
        updated_at=now,
        version=1,
    )
    return values


def alias_values(firm_id: int, aliases: list[str]) -> list[dict[str, Any]]:
    """A firm's alias rows: normalised, each once, empty ones dropped."""
    out, seen = [], set()
    for a in aliases:
        n = normalize_name(a)
        if n and n not in seen:
            seen.add(n)
            out.append({"firm_id": firm_id, "alias": a, "alias_norm": n})
    return out
