"""ECharts options (plain JSON, no functions) for each report page; web/static/js/charts.js
draws them. Presentation only: every figure comes from the report object."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from crm.i18n import _l, gettext
from crm.i18n import render as _render
from crm.policy import names as plan_names
from crm.policy.districts import district_name, name_map
from crm.reports.words import STAGE_ZH, band_label

STATUS_COLOUR = {"covered": "#1f7a4d", "pursuing": "#b54708", "gap": "#b42318"}


def _weekly_lines(weeks: list[str], lines: list[tuple[str, list[Any]]]) -> dict[str, Any]:
    """A line per series over the report's weeks."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 8, "right": 16, "bottom": 8, "top": 36, "containLabel": True},
        "xAxis": {"type": "category", "data": weeks},
        "yAxis": {"type": "value"},
        "series": [{"type": "line", "name": n, "data": data} for n, data in lines],
    }


def _bar(
    categories: list[str],
    series: list[dict[str, Any]],
    *,
    y_name: str = "",
    horizontal: bool = False,
    stack: bool = False,
    counts: bool = False,
    legend: bool = True,
) -> dict[str, Any]:
    # horizontal bars list the categories top-down, in the table's order
    cat = {
        "type": "category",
        "data": categories,
        "axisLabel": {"interval": 0},
        "inverse": horizontal,
    }
    val: dict[str, Any] = {"type": "value", "name": y_name}
    if counts:
        val["minInterval"] = 1
    for s in series:
        s.setdefault("type", "bar")
        if stack:
            s["stack"] = "all"
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0, "show": legend},
        "grid": {"left": 8, "right": 16, "bottom": 8, "top": 36, "containLabel": True},
        "xAxis": val if horizontal else {**cat, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": cat if horizontal else val,
        "series": series,
    }


def _f(v: Any) -> float:
    return float(v) if v is not None else 0.0


GEO_URL = "/static/vendor/geo/chongqing.json"
GEO_FILE = Path(__file__).with_name("static") / "vendor" / "geo" / "chongqing.json"
TIER_COLOUR = {"core": "#1d4ed8", "ring": "#0e9384", "point": "#7a5af8", "bonded": "#667085"}


@lru_cache
def district_centres() -> dict[str, tuple[float, float]]:
    """Each district's centre point (the GeoJSON's ``cp``), where its parks are placed."""
    data = json.loads(GEO_FILE.read_text(encoding="utf-8"))
    return {
        f["properties"]["name"]: tuple(f["properties"]["cp"])  # type: ignore[misc]
        for f in data["features"]
        if f["properties"].get("cp")
    }


def map_option(r: Any, lang: str = "zh") -> dict[str, Any]:
    """The city map: districts coloured by landed output, parks as points in their district
    (coloured by tier, or by the chosen cluster's status there); a click opens the park's
    projects."""
    t = _tr(lang)
    centres = district_centres()
    top = max((float(d.landed_output) for d in r.districts), default=0.0) or 1.0
    seen: dict[str, int] = {}
    points = []
    for p in r.parks:
        if not p.district or p.district not in centres:
            continue
        i = seen[p.district] = seen.get(p.district, -1) + 1
        lng, lat = centres[p.district]
        colour = (
            (STATUS_COLOUR.get(p.status, "#98a2b3") if p.guided else "#d0d5dd")
            if r.cluster
            else TIER_COLOUR.get(p.tier, "#667085")
        )
        points.append(
            {
                "name": p.name_en if lang == "en" else p.name_zh,
                "value": [lng + 0.09 * i, lat - 0.07 * i, float(p.landed_output)],
                "link": f"/pipeline?park={p.code}" + (f"&cluster={r.cluster}" if r.cluster else ""),
                "code": p.code,
                "status": p.status,
                "itemStyle": {"color": colour},
                "symbolSize": 9 if p.tier in ("point", "bonded") else 13,
            }
        )
    return {
        "_geo": {"name": "chongqing", "url": GEO_URL},
        "tooltip": {"trigger": "item"},
        "visualMap": {
            "min": 0,
            "max": top,
            "left": 8,
            "bottom": 8,
            "calculable": True,
            "seriesIndex": 0,
            "text": [t(_l("亿元")), ""],
            "inRange": {"color": ["#f2f4f7", "#b2ccff", "#1d4ed8"]},
        },
        "geo": {
            "map": "chongqing",
            "roam": True,
            "itemStyle": {"areaColor": "#f2f4f7"},
            # the regions' names as the reader reads them (the map file names them in Chinese)
            "nameMap": name_map(lang),
        },
        "series": [
            {
                "type": "map",
                "geoIndex": 0,
                "name": t(_l("落地及投产产值(亿元)")),
                "data": [
                    {"name": district_name(d.name, lang), "value": float(d.landed_output)}
                    for d in r.districts
                ],
            },
            {
                "type": "scatter",
                "coordinateSystem": "geo",
                "name": t(_l("园区")),
                "data": points,
                "label": {"show": True, "formatter": "{b}", "position": "right", "fontSize": 11},
                "zlevel": 2,
            },
        ],
    }


def _tr(lang: str) -> Any:
    """A message in ``lang`` (chart legends, axis names and series are text the reader reads)."""
    return lambda msg: _render(msg, lang)


def option(name: str, r: Any, lang: str = "zh_CN") -> dict[str, Any] | None:
    t = _tr(lang)
    en = lang == "en"

    def cname(c: Any) -> str:  # a cluster in the reader's language (the pack's names)
        return plan_names.cluster(c.code, lang) if en else str(c.name_zh)

    if name == "map":
        return map_option(r, lang)
    if name == "briefing":
        return _bar(
            [d.department for d in r.contacts],
            [{"name": t(_l("接触记录")), "data": [d.contacts for d in r.contacts]}],
            horizontal=True,
            counts=True,
            legend=False,
        )
    if name == "coverage":
        return _bar(
            [cname(c) for c in r.clusters],
            [
                {
                    "name": t(_l("重点投资者数")),
                    "data": [
                        {
                            "value": c.major_investor_count,
                            "itemStyle": {"color": STATUS_COLOUR[c.status]},
                        }
                        for c in r.clusters
                    ],
                }
            ],
            horizontal=True,
            counts=True,
            legend=False,
        )
    if name == "pipeline":
        return _bar(
            [g.label for g in r.groups],
            [
                {"name": gettext(STAGE_ZH[s], lang), "data": [g.stages[s].count for g in r.groups]}
                for s in r.stages
                if s != "lost"
            ],
            y_name=t(_l("项目数")),
            stack=True,
            counts=True,
        )
    if name == "targets":
        return _bar(
            [cname(c) for c in r.clusters],
            [
                {"name": t(_l("2015年目标")), "data": [_f(c.target_2015) for c in r.clusters]},
                {"name": t(_l("落地及投产")), "data": [_f(c.landed_output) for c in r.clusters]},
                {"name": t(_l("已签约")), "data": [_f(c.signed_output) for c in r.clusters]},
            ],
            y_name=t(_l("亿元")),
        )
    if name == "leaders":
        return _bar(
            [band_label(b, lang) for b in r.bands],
            [
                {"name": t(_l("目标家数")), "data": [b.goal for b in r.bands]},
                {"name": t(_l("现有家数")), "data": [b.count for b in r.bands]},
            ],
            y_name=t(_l("家")),
            counts=True,
        )
    if name == "activity":
        return _weekly_lines(
            [str(w.week_start) for w in r.week_totals],
            [
                (n, [getattr(w, k) for w in r.week_totals])
                for n, k in (
                    (t(_l("接触记录")), "contacts"),
                    (t(_l("完成跟进")), "followups_done"),
                    (t(_l("逾期跟进")), "followups_overdue"),
                    (t(_l("新线索")), "new_leads"),
                )
            ],
        )
    if name == "delivery":
        return _bar(
            [cname(c) for c in r.clusters],
            [
                {"name": t(_l("计划投资")), "data": [_f(c.planned_investment) for c in r.clusters]},
                {"name": t(_l("实际到资")), "data": [_f(c.capital_arrived) for c in r.clusters]},
            ],
            y_name=t(_l("亿元")),
        )
    return None


def second(name: str, r: Any, lang: str = "zh_CN") -> dict[str, Any] | None:
    t = _tr(lang)
    if name == "pipeline":
        return _weekly_lines(
            [str(w.week_start) for w in r.weeks],
            [
                (t(_l("新增项目")), [w.new_projects for w in r.weeks]),
                (t(_l("签约")), [w.signings for w in r.weeks]),
            ],
        )
    if name == "targets":
        cs = r.core_share
        core, total = _f(cs.core_output), _f(cs.total_output)
        return {
            "tooltip": {"trigger": "item"},
            "legend": {"top": 0},
            "series": [
                {
                    "type": "pie",
                    "radius": ["40%", "70%"],
                    "data": [
                        {"name": t(_l("双核")), "value": core},
                        {"name": t(_l("双核以外")), "value": max(total - core, 0.0)},
                    ],
                }
            ],
        }
    return None
