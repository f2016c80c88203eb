"""Sum the fuzz run's per-operation counts (test-output/fuzz/*.json) into one line per role."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

rows = [json.loads(p.read_text()) for p in sorted(Path("test-output/fuzz").glob("*.json"))]
for role in ("admin", "officer"):
    mine = [r for r in rows if r["role"] == role]
    statuses: Counter[str] = Counter()
    for r in mine:
        statuses.update(r["statuses"])
    print(f"{role}: {len(mine)} operations, {sum(r['cases'] for r in mine)} cases, "
          f"statuses {dict(sorted(statuses.items()))}")
print(f"total: {sum(r['cases'] for r in rows)} cases")
