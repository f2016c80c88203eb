"""An import run's report as the run keeps it: the importer's report and the run's error as
JSON (their messages stored by message id and parameters, rendered in the reader's language when
read), and :func:`rejected_workbook` — the rejected rows with their original columns and a reason
column, in the reader's language, to be fixed in Excel and imported again."""

from __future__ import annotations

import json
from typing import Any

from crm.exports import to_xlsx
from crm.i18n import Bilingual, Message, _l, as_message
from crm.imports.common import ImportReport, RowError
from crm.models.imports import ImportRun


def encode(m: Any) -> Any:
    if isinstance(m, Bilingual):
        return {"b": m.msgid}
    if isinstance(m, Message):
        return {"m": m.msgid, "p": {k: encode(v) for k, v in m.params.items()}}
    return m


def decode(v: Any) -> Any:
    if isinstance(v, dict) and "b" in v:
        return Bilingual(v["b"])
    if isinstance(v, dict) and "m" in v:
        return Message(v["m"], **{k: decode(x) for k, x in (v.get("p") or {}).items()})
    return v


# the report's fields stored as they are (the others are encoded and decoded below)
PLAIN = ("kind", "total", "imported", "updated", "unchanged", "dry_run", "applied", "labels")


def report_json(rep: ImportReport) -> str:
    bad = {e.row for e in rep.rejected}
    rows = {}
    if rep.sheet is not None and bad:
        rows = {str(n): row for n, row in rep.sheet.rows if n in bad}
    return json.dumps(
        {
            **{name: getattr(rep, name) for name in PLAIN},
            "rejected": [[e.row, e.field, encode(e.message)] for e in rep.rejected],
            "warnings": [[e.row, e.field, encode(e.message)] for e in rep.warnings],
            "notes": [encode(n) for n in rep.notes],
            "rows": rows,
            "candidates": {str(k): v for k, v in rep.candidates.items()},
            "held": sorted(rep.held),
        },
        ensure_ascii=False,
        # a message's parameters may be a bound (Decimal 0 of "不能小于 %(ge)s"), a date…: as text
        default=str,
    )


def report_of(run: ImportRun) -> ImportReport | None:
    """The run's report as the importer made it (None until the run is done)."""
    if not run.report:
        return None
    d = json.loads(run.report)
    rep = ImportReport(
        **{name: d[name] for name in PLAIN},
        rejected=[RowError(r, f, decode(m)) for r, f, m in d["rejected"]],
        warnings=[RowError(r, f, decode(m)) for r, f, m in d["warnings"]],
        notes=[decode(n) for n in d["notes"]],
        candidates={int(k): v for k, v in (d.get("candidates") or {}).items()},
        held=set(d.get("held") or ()),
    )
    return rep


def error_of(run: ImportRun) -> Message | None:
    return as_message(decode(json.loads(run.error))) if run.error else None


def rejected_workbook(run: ImportRun, lang: str) -> bytes:
    """The rejected rows as written in the file (its own headers) with the spreadsheet's row
    number and every reason of the row, in ``lang``: fix them in Excel, import them again."""

    d = json.loads(run.report or "{}")
    labels: dict[str, str] = d.get("labels") or {}
    columns = list(labels)
    reasons: dict[int, list[str]] = {}
    for row, fld, msg in d.get("rejected") or []:
        text = as_message(decode(msg)).render(lang)
        col = labels.get(fld, fld) if fld else None
        reasons.setdefault(row, []).append(f"{col}: {text}" if col else text)
    source = d.get("rows") or {}
    out = []
    for row in sorted(reasons):
        cells = source.get(str(row)) or {}
        sep = "; " if lang == "en" else "；"
        out.append([row, *(cells.get(c, "") for c in columns), sep.join(reasons[row])])
    head_row = _l("行号").render(lang)
    head_reason = _l("不合格原因").render(lang)
    headers = [head_row, *(labels[c] for c in columns), head_reason]
    return to_xlsx(
        _l("不合格的行").render(lang), ["row", *columns, "reason"], out, lang, headers=headers
    )
