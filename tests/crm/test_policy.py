"""The policy pack: the seed's 12 clusters and targets, every park, idempotent and refused loads."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from sqlalchemy import func, select

from crm.errors import ValidationFailed
from crm.models.firms import Firm
from crm.models.policy import ChainLink, Cluster, Park, ParkCluster, PlanTarget
from crm.policy.pack import DEFAULT_PACK, parse_pack, read_pack
from crm.policy.service import load_pack

# SPEC §2 / seed §二–三: each cluster's 2015 target in 亿元
SEED_TARGETS = {
    "NB": ("笔记本电脑", "base", 10000),
    "DATA": ("离岸数据开发和处理（云计算）", "base", 500),
    "COMM": ("通信设备", "cluster", 500),
    "IC": ("集成电路", "cluster", 300),
    "NEV": ("新能源汽车", "cluster", 300),
    "ENV": ("环保装备", "cluster", 300),
    "RAIL": ("轨道交通装备", "cluster", 200),
    "BIO": ("生物医药", "cluster", 300),
    "MAT": ("新材料", "cluster", 500),
    "WIND": ("风电装备", "cluster", 200),
    "LIGHT": ("光源设备（光伏和LED）", "cluster", 300),
    "INST": ("仪器仪表", "cluster", 100),
}
CORE = {"两江新区", "西永微电园"}
RING = {"九龙坡高新区", "南岸经开区", "西彭", "江津", "建桥", "璧山", "花溪", "同兴"}
POINT = {"万州", "涪陵", "长寿", "合川", "永川", "荣昌", "万盛", "大足", "綦江"}


def test_twelve_clusters_with_the_seed_targets(session):
    rows = {c.code: c for c in session.scalars(select(Cluster))}
    assert len(rows) == 12
    for code, (name, kind, target) in SEED_TARGETS.items():
        assert rows[code].name_zh == name
        assert rows[code].kind == kind
        assert rows[code].target_2015 == Decimal(target)
        assert rows[code].name_en
    assert sum(1 for c in rows.values() if c.kind == "base") == 2


def test_chain_links_named_in_the_seed(session):
    nb = session.scalar(select(Cluster).where(Cluster.code == "NB"))
    names = set(session.scalars(select(ChainLink.name_zh).where(ChainLink.cluster_id == nb.id)))
    assert {
        "整机",
        "外围设备",
        "显示器",
        "打印机",
        "电子部件",
        "精密模具",
        "镁材",
        "化学材料",
    } <= names
    for c in session.scalars(select(Cluster)):
        n = session.scalar(
            select(func.count()).select_from(ChainLink).where(ChainLink.cluster_id == c.id)
        )
        assert n >= 4, c.code


def test_every_park_tier_and_guidance(session):
    parks = {p.name_zh: p for p in session.scalars(select(Park))}
    assert {n for n, p in parks.items() if p.tier == "core"} == CORE
    assert {n for n, p in parks.items() if p.tier == "ring"} == RING
    assert {n for n, p in parks.items() if p.tier == "point"} == POINT
    bonded = {n: p for n, p in parks.items() if p.tier == "bonded"}
    assert set(bonded) == {"西永综保区", "两路寸滩保税港区"}
    assert bonded["西永综保区"].within_park_id == parks["西永微电园"].id
    assert bonded["两路寸滩保税港区"].within_park_id == parks["两江新区"].id

    codes = dict(session.execute(select(Cluster.id, Cluster.code)).all())
    guided: dict[str, set[str]] = {}
    for pid, cid in session.execute(select(ParkCluster.park_id, ParkCluster.cluster_id)):
        name = next(n for n, p in parks.items() if p.id == pid)
        guided.setdefault(name, set()).add(codes[cid])
    # seed §四
    assert guided["两江新区"] >= {"NB", "DATA", "RAIL", "NEV", "ENV", "INST", "BIO"}
    assert guided["西永微电园"] == {"NB", "COMM", "IC", "DATA"}
    for ring in RING:
        assert guided[ring] == {"NB", "COMM", "NEV", "MAT", "RAIL", "BIO", "ENV", "WIND", "LIGHT"}
    for point in POINT:
        assert guided[point] == {"MAT", "NB", "LIGHT", "COMM", "BIO", "ENV"}
    assert guided["西永综保区"] == {"NB"}


def test_plan_wide_targets(session):
    t = {r.code: r.value for r in session.scalars(select(PlanTarget))}
    assert t["output_2012"] == 4000 and t["output_2015"] == 13000
    assert t["core_share"] == Decimal("0.75")
    assert (t["ladder_1000"], t["ladder_500"], t["ladder_100"], t["ladder_50"]) == (5, 2, 10, 30)


def test_named_firms_and_their_tiers(session):
    load_pack(session, read_pack())
    session.commit()
    firms = {f.name_zh: f for f in session.scalars(select(Firm))}
    for name in (
        "惠普",
        "宏碁",
        "华硕",
        "思科",
        "广达",
        "英业达",
        "中国电子科技集团",
        "长安汽车",
        "中国北车",
        "西南铝业",
        "中船重工海装风电",
        "重庆齿轮箱",
        "四联集团",
    ):
        assert name in firms, name
    assert firms["惠普"].tier == "global500"
    assert firms["长安汽车"].tier == "china500"
    assert firms["重庆齿轮箱"].tier == "leader"
    assert firms["长安汽车"].parent_id == firms["中国兵器装备集团"].id


def _counts(session) -> tuple:
    return tuple(
        session.scalar(select(func.count()).select_from(m))
        for m in (Cluster, ChainLink, Park, ParkCluster, PlanTarget, Firm)
    )


def test_loading_twice_changes_nothing(session):
    pack = read_pack()
    load_pack(session, pack)
    session.commit()
    before = _counts(session)
    rep = load_pack(session, pack)
    session.commit()
    assert not rep.changed
    assert _counts(session) == before


def test_a_corrected_pack_updates_in_place(session):
    data = yaml.safe_load(DEFAULT_PACK.read_text(encoding="utf-8"))
    ic = next(c for c in data["clusters"] if c["code"] == "IC")
    ic["target_2015"] = 350
    ic["name_en"] = "Integrated circuits (corrected)"
    data["parks"][1]["clusters"].remove("DATA")
    load_pack(session, read_pack())
    session.commit()
    ids_before = dict(session.execute(select(Cluster.code, Cluster.id)).all())
    rep = load_pack(session, parse_pack(yaml.safe_dump(data, allow_unicode=True)))
    session.commit()
    row = session.scalar(select(Cluster).where(Cluster.code == "IC"))
    assert row.target_2015 == Decimal(350) and row.name_en.endswith("(corrected)")
    assert dict(session.execute(select(Cluster.code, Cluster.id)).all()) == ids_before
    assert rep.updated["clusters"] == 1
    xy = session.scalar(select(Park).where(Park.code == "XY"))
    data_id = ids_before["DATA"]
    assert (
        session.scalar(
            select(ParkCluster).where(
                ParkCluster.park_id == xy.id, ParkCluster.cluster_id == data_id
            )
        )
        is None
    )
    load_pack(session, read_pack())  # restore for other tests
    session.commit()


@pytest.mark.parametrize(
    "mutate, named",
    [
        (lambda d: d["clusters"][3].update(target_2015=-5), "clusters[3] (IC)"),
        (lambda d: d["clusters"][2].update(kind="galaxy"), "clusters[2] (COMM)"),
        (lambda d: d["parks"][4]["clusters"].append("NOPE"), "parks[4] (JLP)"),
        (lambda d: d["parks"][0].update(tier="suburb"), "parks[0] (LJ)"),
        (lambda d: d["firms"][0].update(parent="ghost"), "firms[0] (hp): unknown parent"),
        (lambda d: d["firms"][0].update(parent="hp"), "firms[0] (hp): unknown parent"),
        (lambda d: d["firms"][0].update(clusters=["NOPE"]), "firms[0] (hp): unknown cluster"),
        (lambda d: d["parks"][2].update(within="GHOST"), "parks[2] (XYFTZ): within unknown park"),
        (lambda d: d["parks"][2].update(within="XYFTZ"), "parks[2] (XYFTZ): within unknown"),
        (lambda d: d["parks"][3].update(within=None), "parks[3] (LLCT): a bonded zone needs"),
        (lambda d: d["clusters"].append(dict(d["clusters"][0])), "duplicate codes"),
    ],
)
def test_a_malformed_pack_is_refused_naming_the_entry(session, mutate, named):
    load_pack(session, read_pack())
    session.commit()
    before = _counts(session)
    data = yaml.safe_load(DEFAULT_PACK.read_text(encoding="utf-8"))
    data["parks"][4] = dict(data["parks"][4], clusters=list(data["parks"][4]["clusters"]))
    mutate(data)
    with pytest.raises(ValidationFailed) as err:
        load_pack(session, parse_pack(yaml.safe_dump(data, allow_unicode=True)))
    assert named in err.value.message
    session.rollback()
    assert _counts(session) == before


def test_not_yaml_is_refused():
    with pytest.raises(ValidationFailed) as err:
        parse_pack("clusters: [unclosed")
    assert "not valid YAML: line 1" in err.value.message.render("en")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 50_000,
        "{" * 20_000,
        "a: " + "[" * 40 + "]" * 40,
        "- " * 5_000 + "x",
        "pack: {code: x, version: " + "9" * 100_000 + "}",
    ],
    ids=["flow-50000", "mapping-20000", "flow-40", "block-5000", "long-int"],
)
def test_a_pack_nested_too_deep_or_with_a_huge_number_is_refused_as_yaml(text):
    """ATTACK8 P2-3: these cost 10 s of CPU and then a RecursionError / ValueError (500)."""
    with pytest.raises(ValidationFailed) as err:
        parse_pack(text)
    assert "not valid YAML" in err.value.message.render("en")


def test_a_pack_of_the_wrong_shape_is_refused_in_the_readers_language():
    with pytest.raises(ValidationFailed) as err:
        parse_pack("pack: 5\ntargets: {}\nclusters: []\nparks: []\n")
    zh, en = err.value.message.render("zh_CN"), err.value.message.render("en")
    assert zh.startswith("政策包有") and "Input should" not in zh
    assert en.startswith("The policy pack has") and "pack" in en
