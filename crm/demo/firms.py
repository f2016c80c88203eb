"""Demo firms (domestic and foreign, tiers, clusters, aliases) and their contacts."""

from __future__ import annotations

import random
import re
import unicodedata
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from crm.db import table
from crm.demo import names as N
from crm.demo.people import Staff, cn_name
from crm.demo.run import FirmInfo, Policy, Run, cum, pick_cw
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster, derive_tier
from crm.text import credit_code_check_digit, normalize_name, search_blob, to_pinyin

# --- firms ------------------------------------------------------------------------------------

TIER_W = {"global500": 6.0, "china500": 4.0, "leader": 3.0, "other": 1.0}
_COUNTRY_CW = cum(c[1] for c in N.COUNTRIES)
_CREDIT = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _brand(rng: random.Random) -> str:
    a = rng.choice(N.BRAND_CHARS)
    b = rng.choice(N.BRAND_CHARS)
    return a + b if a != b else a + rng.choice("达通")


def _domestic(
    rng: random.Random,
    ind: tuple[str, str],
    group: bool,
    greater_china: bool,
) -> tuple[str, str, str, str, str]:
    """(name_zh, name_en, short name, brand_zh, brand_en) of a Chinese-style firm."""
    b = _brand(rng)
    b_en = to_pinyin(b)[0].capitalize()
    form_zh, form_en = ("", "") if group else rng.choice(N.FORMS)
    place_zh, place_en = ("", "") if greater_china or rng.random() < 0.3 else rng.choice(N.PLACES)
    if place_zh == "中国" and rng.random() < 0.5:
        place_en = "Sino"
    suffix = N.GROUP_SUFFIX_ZH if group else rng.choice(N.SUFFIXES_ZH)
    core = b + ind[0] + form_zh
    zh = (
        f"{core}（{place_zh}）{suffix}"
        if place_zh and rng.random() < 0.15
        else place_zh + core + suffix
    )
    en = " ".join(
        x
        for x in (place_en, b_en, ind[1], form_en, "Group Co., Ltd." if group else "Co., Ltd.")
        if x
    )
    return zh, en, b + ind[0], b, b_en


def _foreign(
    rng: random.Random,
    ind: tuple[str, str],
    group: bool,
    forms: tuple[str, ...],
) -> tuple[str, str, str, str, str]:
    head, tail = rng.choice(N.FOREIGN_HEADS), rng.choice(N.FOREIGN_TAILS)
    b_zh, b_en = head[1] + tail[1], head[0] + tail[0]
    if group:
        tail_zh = "株式会社" if "K.K." in forms else rng.choice(("集团", "集团公司", "公司"))
        return b_zh + ind[0] + tail_zh, f"{b_en} {rng.choice(forms)}", b_zh, b_zh, b_en
    return (
        b_zh + ind[0] + rng.choice(N.FOREIGN_ZH_FORMS),
        f"{b_en} {ind[1]} {rng.choice(forms)}",
        b_zh + ind[0],
        b_zh,
        b_en,
    )


def _credit_code(rng: random.Random, taken: set[str]) -> str:
    while True:
        body = "91" + rng.choice(N.REGION_CODES) + "".join(rng.choice(_CREDIT) for _ in range(9))
        code = body + credit_code_check_digit(body)
        if code not in taken:
            taken.add(code)
            return code


def _existing_firms(run: Run) -> tuple[list[FirmInfo], set[str]]:
    """The firms already there (the pack's named firms), and their normalised names."""
    fc: dict[int, list[int]] = {}
    for fid, cid in run.conn.execute(
        select(col(FirmCluster.firm_id), col(FirmCluster.cluster_id)).order_by(
            col(FirmCluster.firm_id), col(FirmCluster.cluster_id)
        )
    ):
        fc.setdefault(fid, []).append(cid)
    firms: list[FirmInfo] = []
    norms: set[str] = set()
    f = table(Firm).c  # Core columns: plain values back
    for fid, name, norm, tier, country, owner in run.conn.execute(
        select(f.id, f.name_zh, f.name_norm, f.tier, f.country, f.owner_id).order_by(f.id)
    ):
        norms.add(norm)
        info = FirmInfo(
            fid,
            re.sub(r"(（.*?）)?(集团)?(股份)?有限(责任)?公司$", "", name),
            tier,
            fc.get(fid, []),
            country in (None, "中国"),
            owner,
            -3000.0,
            None,
        )
        firms.append(info)
    return firms, norms


def plan_firms(run: Run, pol: Policy, staff: Staff) -> list[FirmInfo]:
    """Existing firms (e.g. the pack's named firms) first, then the generated ones (not written)."""
    rng, conn = run.rng, run.conn
    firms, norms = _existing_firms(run)
    # aliases are unique across firms (a unique index holds it): the pack's firms' too
    taken: set[str] = set(conn.execute(select(table(FirmAlias).c.alias_norm)).scalars())
    f = table(Firm).c
    credit = set(conn.execute(select(f.credit_code).where(f.credit_code.is_not(None))).scalars())
    cids = list(pol.codes)
    nid = run.next_id(table(Firm))
    groups: list[tuple[FirmInfo, str, str, str]] = []  # (firm, brand_zh, brand_en, country)
    for _ in range(run.scale.firms):
        r = rng.random()
        tier = (
            "global500"
            if r < 0.03
            else "china500"
            if r < 0.11
            else "leader"
            if r < 0.21
            else "other"
        )
        cid = rng.choice(cids)
        inds = N.INDUSTRY.get(pol.codes[cid], N.GENERIC_INDUSTRY)
        parent = (
            rng.choice(groups)
            if groups and tier in ("leader", "other") and rng.random() < 0.07
            else None
        )
        if parent is not None:
            country = parent[3]
        elif tier == "china500" or rng.random() >= {"global500": 0.6, "leader": 0.2}.get(
            tier, 0.12
        ):
            country = "中国"
        else:
            country = pick_cw(rng, N.COUNTRIES, _COUNTRY_CW)[0]
        spec = next(c for c in N.COUNTRIES if c[0] == country) if country != "中国" else None
        group = tier in ("global500", "china500") and (spec is not None or rng.random() < 0.6)
        ind, (zh, en, short, b_zh, b_en), norm = _free_name(
            rng, inds, parent, spec, country, group, norms
        )
        norms.add(norm)
        g500 = rng.randint(1, 500) if tier == "global500" else None
        c500 = (
            rng.randint(1, 500)
            if tier == "china500" or (g500 and country == "中国" and rng.random() < 0.4)
            else None
        )
        leader = tier == "leader" or (tier != "other" and rng.random() < 0.3)
        aliases: list[str] = []
        if group or rng.random() < 0.2:
            cands = [short, b_zh + "集团" if group else b_zh, b_en, f"{b_en} {ind[1]}"]
            aliases = _new_aliases(rng, cands, norm, taken, norms)
        clusters = _firm_clusters(rng, cid, parent, cids)
        slug = re.sub(r"[^a-z]", "", b_en.lower()) or "firm"
        domain = f"{slug}{rng.randint(1, 99) if rng.random() < 0.3 else ''}." + (
            "com.cn" if country == "中国" else "com"
        )
        place = next((p for p, _ in N.PLACES if zh.startswith(p)), None)
        hq = (
            rng.choice(spec[3])
            if spec is not None
            else "重庆"
            if place in N.CHONGQING_PLACES
            else "北京"
            if place in ("中国", "中电")
            else place or rng.choice(("重庆", "北京", "深圳"))
        )
        owner = rng.choice(staff.officers) if rng.random() < 0.7 else None
        row: dict[str, Any] = {
            "id": nid,
            "name_zh": zh,
            "name_en": en if spec is not None or rng.random() < 0.45 else None,
            "name_norm": norm,
            "country": country,
            "headquarters": hq,
            "global500_rank": g500,
            "china500_rank": c500,
            "is_leader": leader,
            "website": f"https://www.{domain}" if rng.random() < 0.55 else None,
            "credit_code": _credit_code(rng, credit)
            if country == "中国" and rng.random() < 0.85
            else None,
            "parent_id": parent[0].id if parent is not None else None,
            "owner_id": owner,
            "notes": None,
            "source": "demo",
            "version": 1,
            "_aliases": aliases,
        }
        row["tier"] = derive_tier(g500, c500, leader)
        info = FirmInfo(
            nid, short, row["tier"], clusters, country == "中国", owner, -rng.uniform(1, 2900), row
        )
        info.domain = domain
        firms.append(info)
        if group:
            groups.append((info, b_zh, b_en, country))
        nid += 1
    return firms


def _free_name(
    rng: random.Random,
    inds: Any,
    parent: tuple[FirmInfo, str, str, str] | None,
    spec: Any,
    country: str,
    group: bool,
    norms: set[str],
) -> tuple[Any, tuple[str, str, str, str, str], str]:
    """An industry and a name no firm has yet (a subsidiary's from its group's brand, for the
    first 20 tries): the industry, (zh, en, short, brand zh, brand en), the normalised name."""
    for _attempt in range(200):
        ind = rng.choice(inds)
        if parent is not None and _attempt < 20:
            city = rng.choice(N.SUBSIDIARY_CITIES)
            zh = f"{parent[1]}{ind[0]}（{city[0]}）有限公司"
            en = f"{parent[2]} {ind[1]} ({city[1]}) Co., Ltd."
            names = (zh, en, parent[1] + ind[0], parent[1], parent[2])
        elif spec is None or country in ("中国台湾", "中国香港"):
            names = _domestic(rng, ind, group, spec is not None)
        else:
            names = _foreign(rng, ind, group, spec[2])
        norm = normalize_name(names[0])
        if norm and norm not in norms:
            return ind, names, norm
    raise RuntimeError("could not find a free firm name")


def _new_aliases(
    rng: random.Random, cands: list[str], norm: str, taken: set[str], norms: set[str]
) -> list[str]:
    """One or two of ``cands`` as aliases, each unique across firms (``taken`` grows)."""
    aliases: list[str] = []
    seen = {norm}
    for a in rng.sample(cands, rng.choice((1, 1, 2))):
        an = normalize_name(a)
        if an and an not in seen and an not in taken and an not in norms and len(a) >= 2:
            seen.add(an)
            taken.add(an)
            aliases.append(a)
    return aliases


def _firm_clusters(
    rng: random.Random,
    cid: int,
    parent: tuple[FirmInfo, str, str, str] | None,
    cids: list[int],
) -> list[int]:
    """The firm's cluster, and its group's first one or now and then another."""
    clusters = [cid]
    if parent is not None and parent[0].clusters and parent[0].clusters[0] != cid:
        clusters.append(parent[0].clusters[0])
    elif rng.random() < 0.15:
        other = rng.choice(cids)
        if other != cid:
            clusters.append(other)
    return clusters


def write_firms(run: Run, firms: list[FirmInfo]) -> None:
    rng = run.rng
    ft, at = table(Firm), table(FirmAlias)
    aid = run.next_id(at)
    for t in (ft, at):  # parents first when the buffers flush
        run.buffers.setdefault(t.name, (t, [], None))
    fc = run.link_buffer(table(FirmCluster))
    for f in firms:
        row = f.row
        if row is None:
            continue
        aliases = row.pop("_aliases")
        row["name_pinyin"], row["name_initials"] = to_pinyin(row["name_zh"])
        row["search_text"] = search_blob([row["name_zh"], row["name_en"], *aliases])
        row["created_at"] = run.at(f.created_x)
        row["updated_at"] = run.at(rng.uniform(f.created_x, -0.01))
        run.add(ft, row)
        for a in aliases:
            run.add(at, {"id": aid, "firm_id": f.id, "alias": a, "alias_norm": normalize_name(a)})
            aid += 1
        for cid in f.clusters:
            fc.append((f.id, cid))
    run.flush()


def write_contacts(run: Run, firms: list[FirmInfo]) -> None:
    rng, t = run.rng, table(Contact)
    n = run.scale.contacts
    per = [1 if i < n else 0 for i in range(len(firms))]
    cw = cum(TIER_W[f.tier] for f in firms)
    for i in rng.choices(range(len(firms)), cum_weights=cw, k=max(0, n - len(firms))):
        per[i] += 1
    cid = run.next_id(t)
    for f, k in zip(firms, per, strict=True):
        for _ in range(k):
            if not f.domestic and rng.random() < 0.5:
                name = f"{rng.choice(N.ENGLISH_GIVEN)} {rng.choice(N.ENGLISH_SURNAMES)}"
                local = unicodedata.normalize("NFKD", name.lower()).encode("ascii", "ignore")
                local_s = local.decode().replace(" ", ".").replace("-", "")
            else:
                name = cn_name(rng)
                local_s = to_pinyin(name)[0] + (
                    str(rng.randint(1, 99)) if rng.random() < 0.3 else ""
                )
            phone = (
                f"023-6{rng.randrange(10**7):07d}"
                if f.domestic and rng.random() < 0.3
                else f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
            )
            x = rng.uniform(max(f.created_x, -2900), -0.01)
            created = run.at(x)
            run.add(
                t,
                {
                    "id": cid,
                    "firm_id": f.id,
                    "name": name,
                    "title": rng.choice(N.CONTACT_TITLES),
                    "phone": phone,
                    "email": f"{local_s}@{f.domain}" if rng.random() < 0.8 else None,
                    "wechat": f"wx_{local_s[:12]}{rng.randint(10, 999)}"
                    if rng.random() < 0.3
                    else None,
                    "notes": None,
                    "created_at": created,
                    "updated_at": created,
                    "version": 1,
                },
            )
            f.contacts.append(cid)
            cid += 1
    run.flush()
