"""The leaders report's workbook: the 5213 ladder's bands and the groups in each."""

from __future__ import annotations

from typing import Any

from crm.i18n import _l
from crm.i18n import gettext as _
from crm.reports.columns import Column, Sheet, fields, item, nested, sheet, tier_name, yes_no
from crm.reports.words import band_label

BANDS = [
    Column(_l("档次"), band_label, key="band"),
    *fields("goal", "count", num=True),
    Column(_l("是否达标"), lambda b: yes_no(b.met)),
]
FIRMS = [  # In(band, firm)
    Column(_l("档次"), lambda x: band_label(x.outer)),
    Column(_l("企业(集团)"), lambda x: x.item.name, key="name"),
    Column(_l("企业层级"), lambda x: tier_name(x.item.tier)),
    *fields("output", "projects", "member_firms", of=item),
]


def sheets(r: Any) -> list[Sheet]:
    bands = sheet(_l("5213梯队"), BANDS, r.bands)
    bands[2].append([_("50亿以下"), None, r.below_50, None])
    bands[2].append([_("有产值的集团"), None, r.groups_with_output, None])
    return [bands, sheet(_l("龙头企业"), FIRMS, nested(r.bands, lambda b: b.firms))]
