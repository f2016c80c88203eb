"""My day's follow-ups as HTML (``followups/_myday_items.html``), built in Python.

My day lists an officer's overdue and today's follow-ups, each with its "done" and
"reschedule" forms: a dozen values a row and twenty lines of markup. The template's loop —
an escape and a ``Markup`` per value — was more than half of the page's rendering. Here each
value is escaped once into one string per row, as ``web.followup_rows`` does for the follow-up
list; the output is the template's, byte for byte. The words stay in the template, where the
catalogue finds them, and come in as ``words``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from web.html import esc

_ROW = (
    '\n<li class="fu-item{late_class}" id="fu-{id}">\n'
    '  <div class="fu-main">\n'
    "    {badge}\n"
    '    <strong class="fu-title">{title}</strong>\n'
    '    <span class="muted">{due}</span>\n'
    "    {link}\n"
    "  </div>\n"
    '  <div class="fu-actions">\n'
    '    <form method="post" action="/followups/{id}/done" hx-post="/followups/{id}/done"'
    ' hx-target="#myday-followups" hx-swap="outerHTML">\n'
    '      <input type="hidden" name="csrf_token" value="{token}">\n'
    '      <input type="hidden" name="version" value="{version}">\n'
    '      <input type="hidden" name="back" value="myday">\n'
    '      <button class="btn small primary" type="submit">✓ {done}</button>\n'
    "    </form>\n"
    '    <details class="reschedule">\n'
    '      <summary class="btn small">{later}</summary>\n'
    '      <form method="post" action="/followups/{id}/reschedule"'
    ' hx-post="/followups/{id}/reschedule" hx-target="#myday-followups" hx-swap="outerHTML">\n'
    '        <input type="hidden" name="csrf_token" value="{token}">\n'
    '        <input type="hidden" name="version" value="{version}">\n'
    '        <input type="hidden" name="back" value="myday">\n'
    '        <button class="btn small" type="submit" name="when" value="tomorrow">{tomorrow}'
    "</button>\n"
    '        <button class="btn small" type="submit" name="when" value="monday">{monday}'
    "</button>\n"
    '        <input type="date" name="day" aria-label="{day}" min="{min_day}">\n'
    '        <button class="btn small" type="submit" name="when" value="date">{ok}</button>\n'
    "      </form>\n"
    "    </details>\n"
    "  </div>\n"
    "</li>\n"
)


def myday_items_html(
    items: Sequence[Sequence[Any]], overdue: bool, token: Any, min_day: Any, words: Sequence[Any]
) -> Markup:
    """One of My day's lists: ``items`` (web/home.py's tuples: id, title, due, version, project
    id and label, firm id and label), ``overdue`` whether they are overdue, ``token`` the CSRF
    token of their forms, ``min_day`` the earliest day a follow-up may be moved to and
    ``words`` the seven words the template passes (overdue, done, later, tomorrow, next Monday,
    move to a day, OK)."""
    if not items:
        return Markup("")
    overdue_w, done, later, tomorrow, monday, day, ok = map(esc, words)
    same = {
        "late_class": " is-overdue" if overdue else "",
        "badge": f'<span class="badge overdue">{overdue_w}</span>' if overdue else "",
        "token": esc(token),
        "min_day": esc(min_day),
        "done": done,
        "later": later,
        "tomorrow": tomorrow,
        "monday": monday,
        "day": day,
        "ok": ok,
    }
    out = []
    for fid, title, due, version, project_id, project_label, firm_id, firm_label in items:
        if project_id and project_label:
            link = f'<a href="/projects/{esc(project_id)}">{esc(project_label)}</a>\n    '
        elif firm_id and firm_label:
            link = f'<a href="/firms/{esc(firm_id)}">{esc(firm_label)}</a>'
        else:
            link = ""
        out.append(
            _ROW.format(
                id=esc(fid), title=esc(title), due=esc(due), version=esc(version), link=link, **same
            )
        )
    return Markup("".join(out))
