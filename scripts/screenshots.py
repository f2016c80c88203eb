"""Screenshots of the main pages for the README, from a running demo (./dev.sh start).

usage: .venv/bin/python scripts/screenshots.py [BASE_URL] [OUT_DIR]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else "docs/screenshots")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        page.goto(f"{BASE}/login")
        page.fill("#username", "manager01")
        page.fill("#password", "Demo-2011-35!")
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        shots = [
            ("firms", "/firms"),
            ("pipeline", "/pipeline"),
            ("followups", "/followups"),
            ("coverage", "/reports/coverage"),
            ("targets", "/reports/targets"),
            ("pipeline-report", "/reports/pipeline"),
            ("briefing", "/reports/briefing"),
            ("map", "/reports/map?cluster=NB"),
            ("layout", "/reports/layout?cluster=NB"),
            ("imports", "/imports/history"),
            ("manager-home", "/"),
        ]
        for name, path in shots:
            page.goto(BASE + path)
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(600)  # charts animate in
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=False)
        page.goto(BASE + "/firms?q=huipu")
        link = page.locator("a[href^='/firms/']").filter(has_text=re.compile("惠普")).first
        if link.count():
            link.click()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / "firm.png"))
        page.goto(BASE + "/pipeline?view=table")
        proj = page.locator("a[href^='/projects/']").first
        if proj.count():
            proj.click()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / "project.png"))
        officer = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        officer.goto(f"{BASE}/login")
        officer.fill("#username", "officer001")
        officer.fill("#password", "Demo-2011-35!")
        officer.click("button[type=submit]")
        officer.wait_for_load_state("networkidle")
        officer.screenshot(path=str(OUT / "my-day.png"))
        # logging a delegation: several firms as chips, colleagues, follow-ups per firm
        officer.goto(f"{BASE}/activities/new")
        officer.locator("label.seg", has_text="代表团").click()
        for q in ("huipu", "hongqi", "lianxiang"):
            officer.fill("#firm-q", q)
            option = officer.locator("#firm-options .option").first
            try:
                option.wait_for(timeout=5000)
                option.click()
            except Exception:  # the demo may not hold that firm
                officer.fill("#firm-q", "")
        officer.fill("#act-summary", "代表团来访，参观西永微电园")
        officer.wait_for_load_state("networkidle")
        officer.screenshot(path=str(OUT / "log-contact.png"))
        # a phone (390 × 844): the collapsing menu, tables as cards
        phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone.goto(f"{BASE}/login")
        phone.fill("#username", "officer001")
        phone.fill("#password", "Demo-2011-35!")
        phone.click("button[type=submit]")
        phone.wait_for_load_state("networkidle")
        phone.screenshot(path=str(OUT / "phone-my-day.png"))
        phone.goto(f"{BASE}/firms?q=huipu")
        phone.wait_for_load_state("networkidle")
        phone.screenshot(path=str(OUT / "phone-search.png"))
        # the same office in English (one language at a time, chosen per user)
        english = browser.new_page(viewport={"width": 1400, "height": 900}, locale="en-US")
        english.goto(f"{BASE}/login")
        english.fill("#username", "manager01")
        english.fill("#password", "Demo-2011-35!")
        english.click("button[type=submit]")
        english.wait_for_load_state("networkidle")
        english.goto(f"{BASE}/lang/en")
        english.goto(f"{BASE}/reports/coverage")
        english.wait_for_load_state("networkidle")
        english.wait_for_timeout(600)
        english.screenshot(path=str(OUT / "coverage-en.png"))
        browser.close()
    print("screenshots in", OUT)


if __name__ == "__main__":
    main()
