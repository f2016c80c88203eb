"""The coverage report's workbook: the clusters, their supporting projects, major investors and
chain links, and the cluster × park matrix."""

from __future__ import annotations

from typing import Any

from crm.i18n import _l
from crm.i18n import gettext as _
from crm.reports.columns import (
    Column,
    Sheet,
    cluster_columns,
    cluster_name,
    fields,
    item,
    join,
    nested,
    outer,
    pick,
    project_columns,
    sheet,
    stage_column,
    status_name,
    tier_name,
)


def _investor_names(c: Any) -> str:
    """A cell holds at most 32,767 characters: the first 20 here, all on their own sheet."""
    shown = join(m.name for m in c.major_investors[:20])
    more = c.major_investor_count - min(20, len(c.major_investors))
    if more <= 0:
        return shown
    return _("{names} 等{count}家").format(names=shown, count=c.major_investor_count)


CLUSTERS = [
    *cluster_columns(),
    Column(_l("覆盖状态"), lambda c: status_name(c.status), key="status"),
    *fields("major_investor_count", num=True),
    Column(_l("重点投资者"), _investor_names, key="major_investors"),
    *fields(
        "project_count",
        "links_covered",
        "links_without_firm",
        num=True,
        own={"project_count": _l("支撑项目数")},
    ),
]
PROJECTS = [  # In(cluster, project)
    *cluster_columns(outer),
    Column(_l("覆盖状态"), lambda x: status_name(x.outer.status)),
    *project_columns(item),
    Column(_l("企业层级"), lambda x: tier_name(x.item.tier)),
    stage_column(item),
    *fields("expected_output", of=item),
]
INVESTORS = [  # In(cluster, investor)
    *cluster_columns(outer),
    Column(_l("重点投资者"), lambda x: x.item.name, key="name"),
    Column(_l("企业层级"), lambda x: tier_name(x.item.tier)),
    Column(_l("状态"), lambda x: status_name(x.item.status)),
    *fields("secured_projects", "pursuing_projects", of=item),
]
LINKS = [  # In(cluster, chain link)
    *cluster_columns(outer),
    Column(_l("环节代码"), lambda x: x.item.code),
    Column(_l("产业链环节"), lambda x: pick(x.item.name_zh, x.item.name_en), key="link"),
    Column(_l("覆盖状态"), lambda x: status_name(x.item.status), key="status"),
    *fields(
        "firm_count",
        "major_firm_count",
        "project_count",
        of=item,
        num=True,
        own={"project_count": _l("项目数")},
    ),
    Column(_l("重点投资者"), lambda x: join(x.item.major_investors), key="major_investors"),
]


def sheets(r: Any) -> list[Sheet]:
    park_name = {p.code: pick(p.name_zh, p.name_en) for p in r.parks}
    cname = {c.code: cluster_name(c.code, c.name_zh) for c in r.clusters}
    matrix = [
        Column(_l("集群代码"), lambda m: m.cluster),
        Column(_l("产业集群"), lambda m: cname.get(m.cluster, m.cluster)),
        Column(_l("园区代码"), lambda m: m.park),
        Column(_l("园区"), lambda m: park_name.get(m.park, m.park)),
        Column(_l("覆盖状态"), lambda m: status_name(m.status)),
        *fields(
            "major_secured",
            "major_pursuing",
            "landed_count",
            "advanced_count",
            "project_count",
            own={"landed_count": _l("落地项目数")},
        ),
    ]
    return [
        sheet(_l("集群覆盖"), CLUSTERS, r.clusters),
        sheet(_l("支撑项目"), PROJECTS, nested(r.clusters, lambda c: c.projects)),
        sheet(_l("重点投资者"), INVESTORS, nested(r.clusters, lambda c: c.major_investors)),
        sheet(_l("产业链环节"), LINKS, nested(r.clusters, lambda c: c.links)),
        sheet(_l("集群×园区"), matrix, r.matrix),
    ]
