"""Rewrite references to the old per-package model modules (``crm.<area>.models``) to the
models layer (``crm.models.<area>``), in every tracked text file given on the command line or,
by default, in the whole tree.

Run once by the commit that moved the tables; kept so a branch started before the move can be
brought along after a rebase: ``python scripts/move_models.py $(git diff --name-only main...)``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

AREAS = (
    "accounts",
    "activities",
    "audit",
    "firms",
    "followups",
    "imports",
    "notices",
    "outbox",
    "policy",
    "projects",
    "summaries",
)
DOTTED = re.compile(r"\bcrm\.(" + "|".join(AREAS) + r")\.models\b")
SLASHED = re.compile(r"\bcrm/(" + "|".join(AREAS) + r")/models\.py\b")
SUFFIXES = {".py", ".toml", ".md", ".cfg", ".ini", ".txt", ".sh", ".html", ".yml", ".yaml"}


def rewrite(text: str) -> str:
    text = DOTTED.sub(r"crm.models.\1", text)
    return SLASHED.sub(r"crm/models/\1.py", text)


def main(paths: list[str]) -> int:
    if not paths:
        paths = subprocess.run(
            ["git", "ls-files"], check=True, capture_output=True, text=True
        ).stdout.split()
    changed = 0
    for name in paths:
        path = Path(name)
        if path.suffix not in SUFFIXES or not path.is_file() or "migrations/versions" in name:
            continue
        old = path.read_text(encoding="utf-8")
        new = rewrite(old)
        if new != old:
            path.write_text(new, encoding="utf-8")
            changed += 1
    print(f"{changed} files rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
