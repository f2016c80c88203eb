"""Work that is not a page: a day's reminder composition and the firm import, in-process, rolled
back (the database stays reusable)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.floor import Floor
from bench.measure import Result, Stats, _timed
from bench.scenarios import (
    IMPORT_BUDGET_S,
    REMINDERS_BUDGET_S,
)

MANAGER = "manager01"
RESULTS = Path(__file__).resolve().parent / "results"


def _find(*paths: str) -> Callable[..., Any] | None:
    """The first ``module:function`` that exists, or None (the feature is not built yet)."""
    for p in paths:
        mod, _, fn = p.partition(":")
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        f = getattr(m, fn, None)
        if callable(f):
            return f
    return None


def reminders(url: str, floor: Floor, ctx: dict[str, Any]) -> Result:
    """A day's reminder composition, in-process, rolled back (the database stays reusable)."""
    res = Result("job: a day's reminders", "job", budget_ms=REMINDERS_BUDGET_S * 1000)
    compose = _find("crm.outbox.compose:compose_daily_reminders")
    if compose is None:
        res.status, res.note = "missing", "crm.outbox.compose.compose_daily_reminders not built"
        return res
    from sqlmodel import Session

    from crm.clock import today_local
    from crm.db import make_engine

    engine = make_engine(url)
    try:
        samples, written = [], 0
        for _ in range(2):
            with Session(engine) as s:
                t0 = time.perf_counter()
                written = compose(s, day=today_local(ctx["now"]), now=ctx["now"])
                s.flush()
                samples.append((time.perf_counter() - t0) * 1000)
                s.rollback()
        res.page = Stats.of(samples)
        res.extra["messages"] = written
        res.note = f"{written} messages composed (rolled back)"
    finally:
        engine.dispose()
    fs = [_timed(lambda: floor.run(("reminders",), ctx))[0] for _ in range(2)]
    res.floor = Stats.of(fs)
    if res.floor.p50 and res.page.p50:
        res.ratio = round(res.page.p50 / res.floor.p50, 1)
    res.verdict = "pass" if res.page.max is not None and res.page.max <= res.budget_ms else "FAIL"
    return res


def firms_xlsx(n: int, path: Path, seed: int = 7) -> Path:
    """An Excel file of ``n`` new firms (names unlike the demo's), as an office would send."""
    import random

    import xlsxwriter

    rng = random.Random(seed)
    cities = "北京上海天津广州深圳杭州南京苏州成都武汉西安长沙郑州合肥青岛厦门宁波无锡济南大连"
    pool = (
        "华信达通泰安康瑞丰源宏远鼎盛新联合创科智能电子精密材料光电汽车装备能源生物医药"
        "环保航空轨道仪器机器数据云芯微纳晶硅锂氢风海天星辰金银铜铝钢"
    )
    trades = [
        "科技",
        "电子",
        "实业",
        "精密",
        "新材料",
        "智能装备",
        "汽车零部件",
        "光电",
        "能源",
        "生物医药",
        "环保",
        "仪器仪表",
        "半导体",
        "软件",
    ]
    clusters = ["NB", "COMM", "IC", "NEV", "RAIL", "MAT", "WIND", "INST"]
    countries = ["中国", "美国", "日本", "德国", "韩国", "中国台湾", "新加坡", "法国"]
    seen: set[str] = set()
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("企业")
    head = [
        "企业名称",
        "英文名称",
        "别名",
        "国家或地区",
        "世界500强排名",
        "中国500强排名",
        "行业龙头",
        "产业集群",
        "网站",
        "备注",
    ]
    ws.write_row(0, 0, head)
    row = 1
    while row <= n:
        city = cities[2 * rng.randrange(len(cities) // 2) :][:2]
        brand = "".join(rng.choice(pool) for _ in range(rng.choice((2, 2, 3))))
        name = f"{city}{brand}{rng.choice(trades)}有限公司"
        alias = f"{city}{brand}"
        # an alias belongs to one firm (migration 0013): two rows with one alias, the second is
        # refused — as an office's file would be
        if name in seen or alias in seen:
            continue
        seen.update((name, alias))
        g500 = rng.randint(1, 500) if rng.random() < 0.01 else None
        c500 = rng.randint(1, 500) if rng.random() < 0.03 else None
        ws.write_row(
            row,
            0,
            [
                name,
                f"Import Bench {row} Co., Ltd.",
                alias,
                rng.choice(countries),
                g500 or "",
                c500 or "",
                "是" if rng.random() < 0.05 else "",
                rng.choice(clusters),
                f"https://www.example{row}.cn",
                "",
            ],
        )
        row += 1
    wb.close()
    return path


def firm_import(url: str, workdir: Path, n: int = 50_000) -> Result:
    """50,000 firms from Excel through the import service, in-process, rolled back."""
    res = Result(f"import: {n:,} firms (.xlsx)", "import", budget_ms=IMPORT_BUDGET_S * 1000)
    fn = _find("crm.imports.service:import_firms")
    if fn is None:
        res.status, res.note = "missing", "no firm import service yet (crm.imports)"
        return res
    from sqlmodel import Session, select

    from crm.db import make_engine
    from crm.models.accounts import User

    path = RESULTS / "cache" / f"import-firms-{n}.xlsx"  # slow to write: made once, kept
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        firms_xlsx(n, path.with_suffix(".tmp.xlsx")).rename(path)
    data = path.read_bytes()
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            actor = s.scalar(select(User).where(User.username == MANAGER))
            t0 = time.perf_counter()
            # a generated name may happen to match a demo firm: such rows are skipped, counted;
            # one that only resembles a firm (held as a possible duplicate) is imported anyway,
            # as an officer confirms it — every row of the sheet confirmed (rows 2 to n + 1)
            rep = fn(s, actor, data, path.name, skip_invalid=True, confirmed=range(2, n + 2))
            s.flush()
            ms = (time.perf_counter() - t0) * 1000
            s.rollback()
    finally:
        engine.dispose()
    res.page = Stats.of([ms])
    res.extra = {"imported": rep.imported, "rejected": len(rep.rejected), "bytes": len(data)}
    res.note = f"{rep.imported} imported, {len(rep.rejected)} rejected (rolled back)"
    if rep.imported < n * 0.99:
        res.status = "error"
    res.verdict = "pass" if res.status == "ok" and ms <= res.budget_ms else "FAIL"
    return res
