"""Each report's tables as workbook sheets, in the reader's language (sheet names, headers,
stages, states, tiers, the plan's names, districts), numbers as numbers: a module per report
declares its sheets' columns (``crm.reports.columns``) and builds them from the same report object
the API answers with."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crm.i18n import current_language, using
from crm.reports import briefing_pdf
from crm.reports.columns import Sheet
from crm.reports.sheets import (
    activity,
    citymap,
    coverage,
    delivery,
    layout,
    leaders,
    pipeline,
    targets,
)

SHEETS: dict[str, Callable[[Any], list[Sheet]]] = {
    "map": citymap.sheets,
    "layout": layout.sheets,
    "briefing": briefing_pdf.sheets,
    "coverage": coverage.sheets,
    "pipeline": pipeline.sheets,
    "targets": targets.sheets,
    "leaders": leaders.sheets,
    "activity": activity.sheets,
    "delivery": delivery.sheets,
}


def sheets(name: str, report: Any, lang: str | None = None) -> list[Sheet]:
    """The report's tables in ``lang`` (the current language by default)."""
    with using(lang or current_language()):
        return SHEETS[name](report)
