"""Blank workbooks with the import columns, so an office fills in the right headers — in the
reader's language: the Chinese headers offices use, or the English ones of ``crm.exports.LABELS``
(the map the importers read both from). The columns and examples are the import's own table
(``crm.imports.columns``)."""

from __future__ import annotations

import io

import xlsxwriter

from crm.exports import label
from crm.imports.columns import template_columns


def headers(kind: str, lang: str) -> list[str]:
    """The template's headers for ``kind`` in ``lang``."""
    if lang == "en":
        return [label(c.name, "en") for c in template_columns(kind)]
    return [c.words[0] for c in template_columns(kind)]


def template_workbook(kind: str, lang: str = "zh_CN") -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet(kind)
    bold = wb.add_format({"bold": True, "bg_color": "#F0F4F8"})
    for col, (header, c) in enumerate(
        zip(headers(kind, lang), template_columns(kind), strict=True)
    ):
        zh, en = c.example or ("", "")
        ws.write(0, col, header, bold)
        ws.write(1, col, en if lang == "en" else zh)
        ws.set_column(col, col, max(12, len(header) * (1 if lang == "en" else 2) + 2))
    wb.close()
    return buf.getvalue()
