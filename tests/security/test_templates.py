"""Templates stay autoescaped: no |safe, no autoescape off, no inline scripts or styles."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def test_no_template_turns_escaping_off_or_inlines_script_or_style():
    bad = []
    for f in sorted(TEMPLATES.rglob("*.html")):
        src = f.read_text(encoding="utf-8")
        rel = f.relative_to(TEMPLATES)
        if re.search(r"\|\s*safe\b", src) or "autoescape false" in src or "Markup(" in src:
            bad.append(f"{rel}: turns escaping off")
        for m in re.finditer(r"<script\b([^>]*)>", src):
            attrs = m.group(1)
            if "src=" not in attrs and "application/json" not in attrs:
                bad.append(f"{rel}: inline <script>")
        if re.search(r"<style\b", src) or re.search(r"\sstyle=", src):
            bad.append(f"{rel}: inline style")
        if re.search(r"\son[a-z]+=", src):
            bad.append(f"{rel}: inline event handler")
    assert not bad, "\n".join(bad)


def test_json_islands_use_tojson():
    for f in sorted(TEMPLATES.rglob("*.html")):
        src = f.read_text(encoding="utf-8")
        for m in re.finditer(r"<script[^>]*application/json[^>]*>(.*?)</script>", src, re.S):
            assert "|tojson" in m.group(1).replace(" ", ""), f"{f.name}: JSON island without tojson"
