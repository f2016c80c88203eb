"""Every report's JSON for a manager, an officer and an admin on one database, and the diff of
two such snapshots: the proof that a refactoring left the figures alone.

    python scripts/report_snapshot.py dump --db sqlite:////tmp/city-copy.db --out before.json
    python scripts/report_snapshot.py diff before.json after.json

``--sheets`` adds, for every answer a report gave, the cells of its Excel workbook in both
languages (``crm.reports.sheets.sheets``: sheet names, headers, rows) — the proof for a change to
the workbooks' columns.

Run ``dump`` with the checkout under test first on PYTHONPATH (an older commit's tree works the
same way) and on a COPY of the data: nothing is written (the session is rolled back), but a
benchmark may write the original between two dumps. The clock is fixed (``--now``), so the
default weeks, "as of" days and the open week are the same in both dumps; ``generated_at`` is
left out of the comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

# the variants each report is built with (ReportFilters fields)
VARIANTS: dict[str, list[dict[str, Any]]] = {
    "coverage": [{}, {"detail": True}],
    "pipeline": [{"group_by": g} for g in ("cluster", "park", "department", "officer")],
    "targets": [{}],
    "leaders": [{}, {"detail": True}],
    "activity": [{}, {"date_from": "2026-01-01", "date_to": "2026-11-29"}],
    "delivery": [{}, {"detail": True}],
    "briefing": [{}],
    "map": [{}],
    "layout": [{}, {"detail": True}],
}
USERS = ("admin", "manager01", "officer001")
SKIP_KEYS = {"generated_at"}


def plain(value: Any) -> Any:
    """A report's result as JSON-ready data (pydantic models, dataclasses, money, dates)."""
    if hasattr(value, "model_dump"):
        return plain(value.model_dump())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if k not in SKIP_KEYS}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | date | datetime):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _freeze_clock(now: datetime) -> None:
    """Every ``utcnow`` / ``now_local`` / ``today_local`` the crm modules imported answers
    ``now``."""
    import crm.clock
    import crm.types

    real_today = crm.clock.today_local
    fakes = {
        crm.types.utcnow: lambda: now,
        crm.clock.now_local: lambda: now.astimezone(crm.clock.local_tz()),
        real_today: lambda at=None: real_today(at or now),
    }
    for mod in list(sys.modules.values()):
        if mod is None or not getattr(mod, "__name__", "").startswith("crm"):
            continue
        for name in ("utcnow", "now_local", "today_local"):
            fn = getattr(mod, name, None)
            if fn in fakes:
                setattr(mod, name, fakes[fn])


def dump(url: str, out: Path, now: datetime, with_sheets: bool = False) -> None:
    os.environ["CRM_DATABASE_URL"] = url
    from sqlmodel import Session, select

    import crm.reports.manager_home as home
    from crm.db import make_engine
    from crm.errors import CRMError
    from crm.models.accounts import User
    from crm.reports import registry
    from crm.reports.common import ReportFilters
    from crm.reports.sheets import sheets

    _freeze_clock(now)
    engine = make_engine(url)
    snap: dict[str, Any] = {}
    with Session(engine) as s:
        for username in USERS:
            actor = s.exec(select(User).where(User.username == username)).one()
            for name, variants in VARIANTS.items():
                for v in variants:
                    key = f"{username} {name} {json.dumps(v, sort_keys=True)}"
                    f = ReportFilters(
                        **{
                            k: date.fromisoformat(x) if k.startswith("date") else x
                            for k, x in v.items()
                        }
                    )
                    try:  # the registry's answer (officers: refused) ...
                        report = registry.run(s, actor, name, f)
                        snap[key] = plain(report)
                        for lang in ("zh_CN", "en") if with_sheets else ():
                            snap[f"{key} sheets {lang}"] = plain(sheets(name, report, lang))
                    except CRMError as exc:
                        snap[key] = {"refused": type(exc).__name__}
                        # ... and the service itself, which still filters by visibility
                        snap[key + " direct"] = plain(registry.REPORTS[name](s, actor, f))
                    print(key, file=sys.stderr)
            if actor.role != "officer":
                snap[f"{username} manager_home"] = plain(home.manager_home(s, actor, now))
        s.rollback()
    out.write_text(json.dumps(snap, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
    print(f"{len(snap)} report answers written to {out}")


def diff(a: Path, b: Path) -> int:
    left, right = json.loads(a.read_text("utf-8")), json.loads(b.read_text("utf-8"))
    differing = 0
    for key in sorted(left.keys() | right.keys()):
        if left.get(key) != right.get(key):
            differing += 1
            print(f"DIFFERENT: {key}")
            _show(left.get(key), right.get(key), "  ")
    if differing:
        print(f"{differing} of {len(left.keys() | right.keys())} answers differ")
        return 1
    print(f"identical: {len(left)} report answers")
    return 0


def _show(x: Any, y: Any, path: str, budget: list[int] | None = None) -> None:
    budget = budget if budget is not None else [20]
    if budget[0] <= 0:
        return
    if isinstance(x, dict) and isinstance(y, dict):
        for k in sorted(x.keys() | y.keys()):
            if x.get(k) != y.get(k):
                _show(x.get(k), y.get(k), f"{path}.{k}", budget)
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y, strict=True)):
            if p != q:
                _show(p, q, f"{path}[{i}]", budget)
    else:
        budget[0] -= 1
        print(
            f"{path}: {json.dumps(x, ensure_ascii=False)[:200]} → "
            f"{json.dumps(y, ensure_ascii=False)[:200]}"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--db", required=True, help="database URL (a copy)")
    d.add_argument("--out", required=True, type=Path)
    d.add_argument("--now", default="2026-12-01T00:00:00+00:00", help="the fixed clock (UTC)")
    d.add_argument("--sheets", action="store_true", help="also every workbook's cells")
    c = sub.add_parser("diff")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = p.parse_args()
    if args.cmd == "dump":
        dump(args.db, args.out, datetime.fromisoformat(args.now).astimezone(UTC), args.sheets)
        return 0
    return diff(args.a, args.b)


if __name__ == "__main__":
    raise SystemExit(main())
