"""Read .xlsx / .csv tables into rows keyed by canonical column names."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

from crm.errors import ValidationFailed

MAX_ROWS = 200_000


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return str(v).strip()


def read_rows(data: bytes, filename: str, headers: dict[str, str]) -> list[dict[str, str]]:
    """Rows as {canonical column: text}. ``headers`` maps every accepted header (Chinese or
    English, case-insensitive) to its canonical name; unknown columns are refused by name."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".xlsx", ".xls", ".xlsm", ".ods"):
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
            table = wb.get_sheet_by_index(0).to_python(skip_empty_area=True)
        except Exception as exc:  # calamine raises its own error types
            raise ValidationFailed(
                f"无法读取Excel文件 / cannot read the workbook: {exc}", field="file"
            ) from exc
        raw = [[c.strip() if type(c) is str else _cell(c) for c in row] for row in table]
    elif suffix in (".csv", ".txt"):
        text = None
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise ValidationFailed(
                "CSV编码无法识别 / the CSV is neither UTF-8 nor GB18030", field="file"
            )
        if "\x00" in text:
            raise ValidationFailed(
                "文件包含空字符 / the file contains NUL characters", field="file"
            )
        raw = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise ValidationFailed("只支持 .xlsx 或 .csv 文件 / only .xlsx or .csv files", field="file")
    raw = [r for r in raw if any(c for c in r)]
    if not raw:
        raise ValidationFailed("文件是空的 / the file is empty", field="file")
    if len(raw) - 1 > MAX_ROWS:
        raise ValidationFailed(f"最多 {MAX_ROWS} 行 / at most {MAX_ROWS} rows", field="file")
    lookup = {k.strip().lower(): v for k, v in headers.items()}
    cols: list[str | None] = []
    unknown = []
    for h in raw[0]:
        key = h.strip().lower()
        if not key:
            cols.append(None)
        elif key in lookup:
            cols.append(lookup[key])
        else:
            unknown.append(h)
            cols.append(None)
    if unknown:
        raise ValidationFailed("未知列 / unknown columns: " + ", ".join(unknown[:10]), field="file")
    out = []
    for r in raw[1:]:
        row = {}
        for i, c in enumerate(cols):
            if c is not None:
                row[c] = r[i] if i < len(r) else ""
        out.append(row)
    return out
