"""The benchmark's output: a readable table and a JSON file for comparing runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_json(out: dict[str, Any], path: str | None) -> Path:
    if path:
        p = Path(path)
    else:
        m = out["meta"]
        stamp = re.sub(r"[^0-9T]", "", m["date"])[:15]
        p = RESULTS / f"{stamp}-{m['scale']}-{m['database']['backend']}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(out, ensure_ascii=False, indent=1, default=str))
    return p


def _f(v: Any, width: int = 7, unit: str = "") -> str:
    if v is None:
        return "—".rjust(width)
    s = f"{v:.1f}{unit}" if isinstance(v, float) else f"{v}{unit}"
    return s.rjust(width)


def _width(s: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)


def _ljust(s: str, w: int) -> str:
    return s + " " * max(0, w - _width(s))


def table(out: dict[str, Any]) -> str:
    m = out["meta"]
    db = m["database"]
    load = m.get("load", {})
    lines = [
        f"招商 CRM benchmark — {m['date']} — scale {m['scale']} — {db['backend']} "
        f"{db['version']} — {m['cores']} cores — Python {m['python']} — SQLite "
        f"{m['sqlite']} — commit {m.get('commit')} — load average {m.get('load_average')} at "
        f"the start, {m.get('load_average_end')} at the end",
        "load: "
        + ", ".join(f"{k} {v}" for k, v in load.get("counts", {}).items())
        + (
            " (reused database)"
            if load.get("reused")
            else f" — demo data loaded in {load.get('demo_s')} s"
        ),
        f"{m['requests']} requests per scenario after {m['warmup']} warm-up; times in ms; "
        "floor = the same query through the DBAPI; ratio = page p50 / floor p50",
        "",
    ]
    against = m.get("against")
    if against:
        lines.insert(
            -1,
            f"against: {against['app_root']} (commit {against.get('commit')}) on "
            f"{against.get('database')}, served beside and sent every request in turn; "
            "vs50 / vs95 its times, × = p50 / its p50",
        )
    head = (
        f"{_ljust('scenario', 40)} {'status':<8} {'p50':>7} {'p95':>7} {'max':>7} "
        + (f"{'vs50':>7} {'vs95':>7} {'×':>5} " if against else "")
        + f"{'floor50':>7} {'floor95':>7} {'ratio':>6} {'budget':>7} {'verdict':<7} note"
    )
    lines += [head, "-" * len(head)]
    for r in out["results"]:
        if r["kind"] == "throughput":
            continue
        pg, fl = r["page"], r["floor"]
        vs = r.get("extra", {}).get("against") or {}
        note = r["note"] + (f" [against: {vs['error']}]" if vs.get("error") else "")
        lines.append(
            f"{_ljust(r['name'][:40], 40)} {r['status']:<8} {_f(pg['p50'])} {_f(pg['p95'])} "
            f"{_f(pg['max'])} "
            + (
                f"{_f(vs.get('p50'))} {_f(vs.get('p95'))} {_f(vs.get('p50_ratio'), 5)} "
                if against
                else ""
            )
            + f"{_f(fl['p50'])} {_f(fl['p95'])} {_f(r['ratio'], 6)} "
            f"{_f(r['budget_ms'], 7)} {r['verdict']:<7} {note}"
        )
    lines.append("")
    for r in out["results"]:
        if r["kind"] == "throughput":
            lines.append(
                f"{r['name']}: {r['status']} — {r['note']}"
                + (
                    f" (latency p50 {r['page']['p50']} / p95 {r['page']['p95']} ms)"
                    if r["page"]["p50"] is not None
                    else ""
                )
            )
            kinds = r.get("extra", {}).get("by_kind")
            if kinds:
                lines.append(
                    "    p95 by kind: "
                    + ", ".join(
                        f"{k} {_f(v.get('p95'), 0)} (n {v.get('n')})" for k, v in kinds.items()
                    )
                )
    mem = m.get("server_memory_kib") or {}
    if mem:
        lines.append(
            f"server peak memory (VmHWM): {mem.get('VmHWM', 0) / 1024:.0f} MiB; "
            f"RSS at the end {mem.get('VmRSS', 0) / 1024:.0f} MiB"
        )
    fails = [r["name"] for r in out["results"] if r["verdict"] == "FAIL"]
    missing = [r["name"] for r in out["results"] if r["status"] == "missing"]
    lines.append(f"budgets missed: {', '.join(fails) if fails else 'none'}")
    if missing:
        lines.append(f"missing (not built yet): {', '.join(missing)}")
    lines.append(f"total {m.get('seconds')} s")
    return "\n".join(lines)
