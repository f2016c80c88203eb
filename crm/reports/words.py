"""The Chinese words of the workbooks and the briefing PDF (stages, coverage states, tiers,
groupings), in one place both read; the catalogue gives their English."""

from __future__ import annotations

from typing import Any

from crm.i18n import current_language
from crm.labels import STAGES, TIERS
from crm.vocabulary import Stage, Tier

# the stages' and firm tiers' words are their labels' (crm/labels.py), in the vocabulary's order
STAGE_ZH = {s.value: STAGES[s].msgid for s in Stage}
STATUS_ZH = {"covered": "已覆盖", "pursuing": "跟进中", "gap": "空白"}
TIER_ZH = {
    **{tier.value: TIERS[tier].msgid for tier in Tier},
    "confidential": "保密",  # a group in the ladder known by code names only
    "core": "双核",
    "ring": "一环",
    "point": "多点",
    "bonded": "保税区",
}
GROUP_ZH = {"cluster": "产业集群", "park": "园区", "department": "部门", "officer": "招商专员"}


def band_label(b: Any, lang: str | None = None) -> str:
    """A ladder band: "≥1000亿" / "100–500亿" in Chinese; in English in billions of yuan
    (1亿 = 0.1 bn)."""
    if (lang or current_language()) != "en":
        return str(b.label)

    def bn(v: Any) -> str:
        return f"{v / 10:g}"

    return f"≥ {bn(b.lower)} bn" if b.upper is None else f"{bn(b.lower)}–{bn(b.upper)} bn"
