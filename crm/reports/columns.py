"""The column spec of a report's tables: each column a header and the cell it takes from a row's
item, so a sheet's headers and its rows come from one list (never a header list and a row list
kept in step by hand), and the columns two sheets share are written once.

The report pages take their tables' headers from the same spec (``page``): a page's table is the
workbook sheet's columns it shows, picked by key, in the page's order — a page shows fewer
columns than the workbook (the codes as tooltips, no ratios the chart shows), and where its cell
is not the workbook's (a list instead of a count, "3/5" instead of a count) the spec gives that
column its page header."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from crm.i18n import Message, _l, current_language
from crm.i18n import gettext as _
from crm.policy import names as plan_names
from crm.policy.districts import district_name
from crm.reports.heads import HEADS
from crm.reports.words import STAGE_ZH, STATUS_ZH, TIER_ZH

# a sheet: its name, the header row, the rows (values: numbers as numbers, dates as dates)
Sheet = tuple[str, list[str], list[list[Any]]]


@dataclass(frozen=True)
class Column:
    head: Message | str  # a lazy message, or a header already in the reader's language
    cell: Callable[[Any], Any]
    key: str = ""  # what a page picks it by: the attribute it shows, or a name
    num: bool = False  # a figure (a page aligns it right)


def _self(x: Any) -> Any:
    return x


def _attribute(of: Callable[[Any], Any], name: str) -> Callable[[Any], Any]:
    return lambda x: getattr(of(x), name)


def fields(
    *keys: str,
    of: Callable[[Any], Any] = _self,
    num: bool = False,
    own: Mapping[str, Message] | None = None,
) -> list[Column]:
    """A column per attribute ``key`` of ``of(item)``, headed by its figure's header
    (``heads.HEADS``), or by ``own``'s where the sheet names that attribute otherwise; ``num``:
    figures."""
    mine = own or {}
    return [Column(mine.get(k) or HEADS[k], _attribute(of, k), key=k, num=num) for k in keys]


@dataclass(frozen=True)
class PageHead:
    """A header of a page's table: its text, and whether the column holds figures."""

    head: Message | str
    num: bool


def page(
    columns: Sequence[Column],
    keys: Sequence[str] | None = None,
    own: Mapping[str, Message] | None = None,
) -> list[PageHead]:
    """The headers of a page's table that shows ``keys`` of the sheet's ``columns``, in that
    order (by default every column with a key, in the sheet's order); ``own``: the header of a
    key whose cell on the page is not the workbook's (a figure if its column is one; a key the
    sheet has no column for is a list or badges, not a figure)."""
    by_key = {c.key: c for c in columns if c.key}
    mine = own or {}

    def head(key: str) -> PageHead:
        column = by_key.get(key)
        if key in mine:
            return PageHead(mine[key], column.num if column else False)
        return PageHead(by_key[key].head, by_key[key].num)

    return [head(k) for k in (by_key if keys is None else keys)]


def sheet(title: Message, columns: Sequence[Column], items: Iterable[Any]) -> Sheet:
    """A sheet in the current language: the columns' headers, then a row per item."""
    return (
        str(title),
        [str(c.head) for c in columns],
        [[c.cell(x) for c in columns] for x in items],
    )


# a sheet of (indicator, value) rows
INDICATORS = [Column(_l("指标"), lambda x: x[0]), Column(_l("数值"), lambda x: x[1])]


class In(NamedTuple):
    """A row of a nested list (a cluster's investors, a park's projects): the item and the one
    it belongs to."""

    outer: Any
    item: Any


def nested(outers: Iterable[Any], inner: Callable[[Any], Iterable[Any]]) -> list[In]:
    return [In(o, x) for o in outers for x in inner(o)]


def outer(x: In) -> Any:
    return x.outer


def item(x: In) -> Any:
    return x.item


def en() -> bool:
    return current_language() == "en"


def pick(zh: str, en_name: str | None) -> str:
    """A name in the reader's language (the Chinese one where no English one is known)."""
    return (en_name or zh) if en() else zh


def join(items: Any) -> str:
    return (", " if en() else "、").join(items)


def cluster_name(code: str, zh: str) -> str:
    """A cluster's name in the reader's language; a row that is no cluster (合计) translated."""
    pair = plan_names.names().clusters.get(code)
    return pick(*pair) if pair else _(zh)


def cluster_columns(of: Callable[[Any], Any] = lambda x: x) -> list[Column]:
    """集群代码 and 产业集群 of the cluster ``of(item)`` (an object with ``code`` and
    ``name_zh``)."""
    return [
        Column(_l("集群代码"), lambda x: of(x).code, key="cluster_code"),
        Column(_l("产业集群"), lambda x: cluster_name(of(x).code, of(x).name_zh), key="cluster"),
    ]


def park_columns(of: Callable[[Any], Any] = lambda x: x) -> list[Column]:
    """园区代码 and 园区 of the park ``of(item)`` (its English name in English)."""
    return [
        Column(_l("园区代码"), lambda x: of(x).code, key="park_code"),
        Column(_l("园区"), lambda x: of(x).name_en if en() else of(x).name_zh, key="park"),
    ]


def park_row_columns() -> list[Column]:
    """A park's own row (the map's and the layout's parks): its code, name, tier and district."""
    return [
        *park_columns(),
        Column(_l("层级"), lambda p: tier_name(p.tier)),
        Column(_l("区县"), lambda p: district_name(p.district), key="district"),
    ]


def stage_name(s: str) -> str:
    return _(STAGE_ZH.get(s, s))


def status_name(s: str) -> str:
    """A coverage state (covered, pursuing, gap) in the reader's language."""
    return _(STATUS_ZH[s])


def tier_name(t: str) -> str:
    """A firm's or a park's tier in the reader's language."""
    return _(TIER_ZH.get(t, t))


def yes_no(met: bool) -> str:
    return _("是") if met else _("否")


def project_columns(of: Callable[[Any], Any] = lambda x: x) -> list[Column]:
    """项目 and 企业 of the project ``of(item)`` (its report label and its firm's name)."""
    return [
        Column(_l("项目"), lambda x: of(x).label, key="label"),
        Column(_l("企业"), lambda x: of(x).firm_name, key="firm_name"),
    ]


def stage_column(of: Callable[[Any], Any] = lambda x: x) -> Column:
    return Column(_l("阶段"), lambda x: stage_name(of(x).stage), key="stage")
