"""The reports by name, for the API, the web pages and the Excel export alike."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from crm.errors import NotFound
from crm.i18n import _l
from crm.models.accounts import User
from crm.reports.activity import activity_report
from crm.reports.briefing import briefing
from crm.reports.citymap import city_map
from crm.reports.common import ReportFilters, require_reports
from crm.reports.coverage import coverage_report
from crm.reports.delivery import delivery_report
from crm.reports.layout import park_layout
from crm.reports.leaders import leaders_report
from crm.reports.pipeline import pipeline_report
from crm.reports.targets import targets_report

REPORTS: dict[str, Callable[[Session, User, ReportFilters], Any]] = {
    "coverage": coverage_report,
    "pipeline": pipeline_report,
    "targets": targets_report,
    "leaders": leaders_report,
    "activity": activity_report,
    "delivery": delivery_report,
    "briefing": lambda s, a, f: briefing(s, a, f.week, f),
    "map": city_map,
    "layout": park_layout,
}


def run(session: Session, actor: User, name: str, f: ReportFilters) -> Any:
    """Check the actor may open reports, then build report ``name``."""
    require_reports(actor)
    fn = REPORTS.get(name)
    if fn is None:
        raise NotFound(_l("没有这个报表"))
    with gc_paused():
        return fn(session, actor, f)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a report is built: it makes thousands of short-lived
    tuples (freed by reference counting), and in a warm server each collection they trigger
    walks the whole heap — the largest part of a report's slowest answers. (As the import.)"""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
