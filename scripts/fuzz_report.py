"""Print the fuzz run's case counts (test-output/fuzz/<role>.json) and their total."""

from __future__ import annotations

import json
from pathlib import Path

rows = [json.loads(p.read_text()) for p in sorted(Path("test-output/fuzz").glob("*.json"))]
for r in rows:
    print(f"{r['role']}: {r['operations']} operations, {r['cases']} cases "
          f"(max_examples {r['max_examples']}), statuses {r['statuses']}")
print(f"total: {sum(r['cases'] for r in rows)} cases")
