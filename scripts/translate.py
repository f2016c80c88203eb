"""Fill English translations into the en catalogue from a JSON/py dict file, then compile.

usage: .venv/bin/python scripts/translate.py [FILE.json ...]   ({"中文": "English", ...})
With no file, every scripts/translations/*.json is read (one file per area of the app), so the
catalogue can always be rebuilt: scripts/i18n.sh && .venv/bin/python scripts/translate.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PO = Path(__file__).resolve().parent.parent / "crm/translations/en/LC_MESSAGES/messages.po"


def main(paths: list[str]) -> None:
    if not paths:
        paths = sorted(str(p) for p in (Path(__file__).parent / "translations").glob("*.json"))
    table: dict[str, str] = {}
    for path in paths:
        table.update(json.loads(Path(path).read_text(encoding="utf-8")))
    with PO.open("rb") as f:
        cat = read_po(f, locale="en")
    n = 0
    for msg in cat:
        if msg.id and isinstance(msg.id, str) and msg.id in table:
            msg.string = table[msg.id]
            msg.flags.discard("fuzzy")
            n += 1
    with PO.open("wb") as f:
        write_po(f, cat, width=100)
    with PO.with_suffix(".mo").open("wb") as f:
        write_mo(f, cat)
    print(f"{n} strings set")


if __name__ == "__main__":
    main(sys.argv[1:])
