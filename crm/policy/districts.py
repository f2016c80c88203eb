"""Chongqing's districts and counties (区县) as the city map names them, in the reader's
language. The English forms are the official romanised names (渝北区 → Yubei District); a name
not in the table is romanised from its pinyin, so a district added to the map is never shown in
Chinese on an English page."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from crm.i18n import current_language

DISTRICT_EN: dict[str, str] = {
    "万州区": "Wanzhou District",
    "涪陵区": "Fuling District",
    "渝中区": "Yuzhong District",
    "大渡口区": "Dadukou District",
    "江北区": "Jiangbei District",
    "沙坪坝区": "Shapingba District",
    "九龙坡区": "Jiulongpo District",
    "南岸区": "Nan'an District",
    "北碚区": "Beibei District",
    "綦江区": "Qijiang District",
    "大足区": "Dazu District",
    "渝北区": "Yubei District",
    "巴南区": "Banan District",
    "黔江区": "Qianjiang District",
    "长寿区": "Changshou District",
    "江津区": "Jiangjin District",
    "合川区": "Hechuan District",
    "永川区": "Yongchuan District",
    "南川区": "Nanchuan District",
    "璧山区": "Bishan District",
    "铜梁区": "Tongliang District",
    "潼南区": "Tongnan District",
    "荣昌区": "Rongchang District",
    "开州区": "Kaizhou District",
    "梁平区": "Liangping District",
    "武隆区": "Wulong District",
    "梁平县": "Liangping County",
    "城口县": "Chengkou County",
    "丰都县": "Fengdu County",
    "垫江县": "Dianjiang County",
    "武隆县": "Wulong County",
    "忠县": "Zhong County",
    "云阳县": "Yunyang County",
    "奉节县": "Fengjie County",
    "巫山县": "Wushan County",
    "巫溪县": "Wuxi County",
    "石柱土家族自治县": "Shizhu Tujia Autonomous County",
    "秀山土家族苗族自治县": "Xiushan Tujia and Miao Autonomous County",
    "酉阳土家族苗族自治县": "Youyang Tujia and Miao Autonomous County",
    "彭水苗族土家族自治县": "Pengshui Miao and Tujia Autonomous County",
    "两江新区": "Liangjiang New Area",
}

# a district's kind, longest first (自治县 before 县)
_SUFFIXES = [
    ("自治县", "Autonomous County"),
    ("新区", "New Area"),
    ("区", "District"),
    ("县", "County"),
]


def romanise(name: str) -> str:
    """A district name not in the table, from its pinyin: 铜梁区 → "Tongliang District"."""
    for zh, en in _SUFFIXES:
        if name.endswith(zh) and len(name) > len(zh):
            base = "".join(lazy_pinyin(name[: -len(zh)], style=Style.NORMAL, errors="default"))
            return f"{base.capitalize()} {en}"
    return "".join(lazy_pinyin(name, style=Style.NORMAL, errors="default")).capitalize()


def district_name(name: str | None, lang: str | None = None) -> str:
    """``name`` (as the pack and the map store it, in Chinese) in the reader's language."""
    if not name:
        return ""
    if (lang or current_language()) != "en":
        return name
    return DISTRICT_EN.get(name) or romanise(name)


def name_map(lang: str | None = None) -> dict[str, str]:
    """The map's region names in ``lang`` (ECharts ``nameMap``), empty in Chinese."""
    if (lang or current_language()) != "en":
        return {}
    return dict(DISTRICT_EN)
