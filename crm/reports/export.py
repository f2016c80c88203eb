"""A report as an Excel workbook (xlsxwriter): its sheets (``crm.reports.sheets``) in the
reader's language, a header row each, numbers as numbers, the same figures as the API (they come
from the same report object)."""

from __future__ import annotations

import io
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from crm.clock import to_local
from crm.exports import workbook
from crm.i18n import current_language
from crm.i18n import gettext as _
from crm.reports.sheets import sheets


def to_xlsx(name: str, report: Any, lang: str | None = None) -> bytes:
    """The report as .xlsx bytes in ``lang``: one sheet per table, a header row, numbers as
    numbers."""
    lang = lang or current_language()
    buf = io.BytesIO()
    wb = workbook(buf)
    bold = wb.add_format({"bold": True, "bg_color": "#F0F4F8", "border": 1})
    dec = wb.add_format({"num_format": "0.00"})  # shown with two decimals, the value exact
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    for title, head, rows in sheets(name, report, lang):
        ws = wb.add_worksheet(title[:31])
        ws.write_row(0, 0, head, bold)
        for i, row in enumerate(rows, start=1):
            for j, v in enumerate(row):
                if v is None:
                    ws.write_blank(i, j, None)
                elif isinstance(v, Decimal):
                    ws.write_number(i, j, float(v), dec)
                elif isinstance(v, bool):
                    ws.write_string(i, j, _("是", lang) if v else _("否", lang))
                elif isinstance(v, int | float):
                    ws.write_number(i, j, v)
                elif hasattr(v, "year") and hasattr(v, "hour"):
                    ws.write_string(i, j, to_local(v).strftime("%Y-%m-%d %H:%M"))
                elif hasattr(v, "year"):
                    ws.write_datetime(i, j, _as_datetime(v), day)
                else:
                    ws.write_string(i, j, str(v))
        ws.set_column(0, max(len(head) - 1, 0), 14)
        ws.freeze_panes(1, 0)
    gen = getattr(report, "generated_at", None)
    wb.set_properties({"title": name, "comments": f"generated {gen.isoformat() if gen else ''}"})
    wb.close()
    return buf.getvalue()


def _as_datetime(d: Any) -> Any:
    return datetime.combine(d, time.min)  # an Excel date has no zone
