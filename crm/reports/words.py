"""The Chinese words of the workbooks and the briefing PDF (stages, coverage states, tiers,
groupings), in one place both read; the catalogue gives their English."""

from __future__ import annotations

from typing import Any

from crm.i18n import current_language

STAGE_ZH = {
    "lead": "线索",
    "contacted": "已接触",
    "negotiating": "洽谈中",
    "signed": "已签约",
    "landed": "已落地",
    "operating": "已投产",
    "lost": "已流失",
}
STATUS_ZH = {"covered": "已覆盖", "pursuing": "跟进中", "gap": "空白"}
TIER_ZH = {
    "global500": "世界500强",
    "china500": "中国500强",
    "leader": "行业龙头",
    "other": "其他",
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
