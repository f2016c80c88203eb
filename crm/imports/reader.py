"""Read .xlsx / .csv tables into rows keyed by canonical column names, each with the
spreadsheet's own row number and each column with its header as written in the file.

Nothing is parsed before it is known to be small enough (crm/imports/bounds.py): a file over a
limit is refused with a message that names the limit."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from crm.errors import ValidationFailed
from crm.exports import LABELS
from crm.i18n import _l
from crm.imports import progress
from crm.imports.bounds import LIMITS, Limits, Refused, check_workbook, too_big

MAX_ROWS = LIMITS.max_rows
HEADER_SEARCH = 20  # rows looked at for the header (title rows above it)
# columns an office adds to number its rows: ignored
IGNORED_HEADERS = {"序号", "序", "编号", "no", "no.", "#", "行号", "index"}
# what a CRM export carries but an import derives itself (the firm list's 层级 and 更新时间, in
# either language)
IGNORED_HEADERS |= {"层级", "更新时间", "tier", "updated_at", "id", "updated"}
# what the rejected-rows workbook adds (crm.imports.runs): its fixed rows import as they are
IGNORED_HEADERS |= {"行号", "row", "不合格原因", "reason"}
# what `crm export` adds to firms/contacts/projects.xlsx for a whole-folder restore
# (crm/imports/folder.py; the columns: crm/dataset_export.py): a per-kind import leaves it alone
RESTORE_ONLY_HEADERS = {
    "来源",
    "创建时间",
    "版本",
    "实际就业",
    "实际签约日期",
    "实际落地日期",
    "实际投产日期",
    "撞单项目编号",
    "阶段变更时间",
    "首次接触时间",
    "最近活动时间",
}
IGNORED_HEADERS |= RESTORE_ONLY_HEADERS


def accepted_headers(own: dict[str, str]) -> dict[str, str]:
    """An importer's headers: its own (``header → column``: the office's usual words, the
    column names) and, for each of its columns, the header an export or a template writes in
    either language (``crm.exports.LABELS``, the one map both read) — so a file exported or
    filled in English imports like a Chinese one."""
    columns = set(own.values())
    out: dict[str, str] = {}
    for column, names in LABELS.items():
        if column in columns:
            for name in names:
                out[name] = column
    out.update(own)  # an importer's own word wins where two columns' labels meet
    return out


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if type(v) is str:
        return v.strip()
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == time.min else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, timedelta):  # a duration-formatted cell: its value in days
        return str(v.total_seconds() / 86400)
    return str(v).strip()


def column_letters(index: int) -> str:
    """A spreadsheet column's letters from its 0-based index: 0 → A, 27 → AB."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def header_key(h: str) -> str:
    """A header as compared: case, spaces, full-width brackets and a required-mark * ignored."""
    h = h.strip().lower().replace("（", "(").replace("）", ")").replace("＊", "*")
    return re.sub(r"\s+", "", h).strip("*")


@dataclass
class Sheet:
    """The rows under the header: (spreadsheet row number, {canonical column: text})."""

    rows: list[tuple[int, dict[str, str]]]
    header_row: int
    labels: dict[str, str] = field(default_factory=dict)  # canonical → header as written

    def keep_rows(self, numbers: set[int]) -> None:
        """Keep only these rows (the rejected ones, for their workbook): the rest are freed."""
        self.rows = [r for r in self.rows if r[0] in numbers]

    def label(self, column: str | None) -> str | None:
        if column is None:
            return None
        return self.labels.get(column, column)


def _xlsx_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    check_workbook(data, limits)
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = wb.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own error types
        raise Refused(_l("无法读取Excel文件：%(error)s", error=str(exc)[:200])) from exc
    # iter_rows yields from the sheet's first row (A1's) to its last, however many empty
    # rows come first; the last row it yields is the sheet's last row (``end``)
    found: list[tuple[int, list[str]]] = []
    n = 0
    for n, row in enumerate(sheet.iter_rows(), start=1):
        cells = [_cell(c) for c in row]
        if any(cells):
            found.append((n, cells))
    end = sheet.end
    offset = (end[0] + 1 - n) if end is not None and n else 0
    # and from the sheet's first used column: the cells before it, so that a cell's place is
    # its column (a message names column B as B)
    pad = [""] * (sheet.start[1] if sheet.start is not None else 0)
    for i, cells in found:
        yield i + offset, (pad + cells) if pad else cells


def _decode_csv(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and data[1:2] == b"\x00"):
        raise Refused(_l("文件是UTF-16编码（Excel的“Unicode文本”）：请另存为“CSV UTF-8”或 .xlsx"))
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Refused(_l("CSV编码无法识别（既不是UTF-8也不是GB18030）"))
    if "\x00" in text:
        raise Refused(_l("文件包含空字符，不是文本文件"))
    return text


def _csv_rows(data: bytes, limits: Limits) -> Iterator[tuple[int, list[str]]]:
    text = _decode_csv(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    record = 0
    while True:
        record += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            msg = str(exc)
            if "field larger than field limit" in msg:
                raise Refused(
                    _l(
                        "第 %(row)s 行：有一个字段超过 %(n)s 个字符",
                        row=record,
                        n=f"{csv.field_size_limit():,}",
                    )
                ) from exc
            if "unexpected end of data" in msg or "EOF" in msg:
                raise Refused(
                    _l("第 %(row)s 行：引号没有闭合（从这里到文件末尾都在一个字段里）", row=record)
                ) from exc
            raise Refused(
                _l("第 %(row)s 行：CSV格式错误（%(error)s）", row=record, error=msg[:200])
            ) from exc
        if record > limits.max_sheet_rows:
            raise too_big(_l("行数"), record, limits.max_sheet_rows)
        if len(row) > limits.max_columns:
            raise too_big(_l("列数"), len(row), limits.max_columns)
        cells = [c.strip() for c in row]
        if any(cells):
            yield record, cells


def read_table(
    data: bytes, filename: str, limits: Limits = LIMITS
) -> Iterable[tuple[int, list[str]]]:
    """The file's non-empty rows as (spreadsheet row number, cells), read within ``limits``."""
    if check_type(filename) == "xlsx":
        return _xlsx_rows(data, limits)
    return _csv_rows(data, limits)


def check_type(filename: str) -> str:
    """ "xlsx" or "csv" by the file's name; any other kind is refused with what to do."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".xls", ".et", ".ods"):
        raise Refused(_l("请先在Excel或WPS中另存为 .xlsx（不支持旧的 .xls 和 .ods 格式）"))
    raise Refused(_l("只支持 .xlsx 或 .csv 文件"))


def _find_header(
    rows: Iterator[tuple[int, list[str]]], lookup: dict[str, str]
) -> tuple[int, list[str]]:
    seen = []
    for n, cells in rows:
        keys = [header_key(c) for c in cells if c]
        known = sum(1 for k in keys if k in lookup)
        if known and known * 2 >= len([k for k in keys if k not in IGNORED_HEADERS]):
            return n, cells
        seen.append(n)
        if len(seen) >= HEADER_SEARCH:
            break
    if not seen:
        raise Refused(_l("文件是空的"))
    raise Refused(_l("在前 %(n)s 个非空行中找不到表头：请用导入模板的列名", n=len(seen)))


def _columns(header: list[str], lookup: dict[str, str]) -> tuple[list[str | None], dict[str, str]]:
    """Each header cell's canonical column (None: not read) and each column's header as
    written; unknown columns are refused by name (a 序号 column is ignored), and a column
    given twice by the two columns' letters."""
    cols: list[str | None] = []
    labels: dict[str, str] = {}
    unknown = []
    for i, h in enumerate(header):
        key = header_key(h)
        canon = lookup.get(key)
        if canon is not None and canon not in labels:
            labels[canon] = h.strip()
            cols.append(canon)
        elif canon is not None:  # the same column twice (or in both languages): which one?
            raise Refused(
                _l(
                    "列名重复：%(name)s（%(first)s列和%(col)s列）",
                    name=h.strip(),
                    first=column_letters(cols.index(canon)),
                    col=column_letters(i),
                )
            )
        else:
            cols.append(None)
            if key and key not in IGNORED_HEADERS:
                unknown.append(h)
    if unknown:
        raise Refused(_l("未知列：%(names)s", names=", ".join(unknown[:10])))
    return cols, labels


def read_rows(
    data: bytes, filename: str, headers: dict[str, str], limits: Limits = LIMITS
) -> Sheet:
    """The rows under the header. ``headers`` maps every accepted header (Chinese or English,
    case-insensitive) to its canonical name. The header is the first row made mostly of known
    names (title rows above it are skipped); a 序号 column is ignored; other unknown columns
    are refused by name."""
    lookup = {header_key(k): v for k, v in headers.items()}
    rows = iter(read_table(data, filename, limits))
    header_row, header = _find_header(rows, lookup)
    cols, labels = _columns(header, lookup)
    out = []
    for n, cells in progress.rows(rows, "reading"):
        row = {}
        for i, c in enumerate(cols):
            if c is not None:
                row[c] = cells[i] if i < len(cells) else ""
        if any(row.values()):
            out.append((n, row))
            if len(out) > limits.max_rows:
                raise too_big(_l("数据行数"), len(out), limits.max_rows)
    if not out:
        raise Refused(_l("表头下面没有数据"))
    return Sheet(out, header_row, labels)


__all__ = [
    "MAX_ROWS",
    "Sheet",
    "ValidationFailed",
    "accepted_headers",
    "check_type",
    "read_rows",
    "read_table",
]
