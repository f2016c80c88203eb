"""Sum the fuzz run's case counts (test-output/fuzz/<role>-<worker>.json) per role."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

rows = [json.loads(p.read_text()) for p in sorted(Path("test-output/fuzz").glob("*.json"))]
total = 0
for role in ("admin", "officer"):
    per_op: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    for r in (r for r in rows if r["role"] == role):
        per_op.update(r["per_operation"])
        statuses.update(r["statuses"])
    if not per_op:
        continue
    exercised = sum(1 for n in per_op.values() if n)
    total += sum(per_op.values())
    print(
        f"{role}: {exercised} of {len(per_op)} operations, {sum(per_op.values())} cases, "
        f"statuses {dict(sorted(statuses.items()))}"
    )
print(f"total: {total} cases")
