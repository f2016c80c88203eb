"""The follow-up list's rows as HTML (``followups/_rows.html``), built in Python.

A page of the list is 50 rows of a dozen values each, and the template's loop over them — an
attribute lookup, an escape and a ``Markup`` per value, a filter call per date — was two thirds
of the page's rendering. Here each value is escaped once into one string per row, as
``web.timeline`` does for a firm's timeline; the output is the template's, byte for byte. The
words (逾期, 完成 …) stay in the template, where the catalogue finds them, and come in as
``words``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import jinja2
from jinja2.filters import do_truncate
from markupsafe import Markup

from web.html import Reader, esc

_OPEN = (
    '\n        <form method="post" action="/followups/{id}/done" hx-post="/followups/{id}/done"'
    ' hx-target="#fu-row-{id}" hx-swap="outerHTML">\n'
    '          <input type="hidden" name="csrf_token" value="{token}">'
    '<input type="hidden" name="version" value="{version}">'
    '<input type="hidden" name="back" value="list">\n'
    '          <button class="btn small primary" type="submit">{done}</button>\n'
    "        </form>\n"
    '        <form method="post" action="/followups/{id}/cancel" hx-post="/followups/{id}/cancel"'
    ' hx-target="#fu-row-{id}" hx-swap="outerHTML">\n'
    '          <input type="hidden" name="csrf_token" value="{token}">'
    '<input type="hidden" name="version" value="{version}">'
    '<input type="hidden" name="back" value="list">\n'
    '          <button class="btn small" type="submit">{cancel}</button>\n'
    "        </form>\n"
    '        <a class="btn small" href="/followups/{id}/edit">{edit}</a>\n        '
)

# what a row shows, read in one call (by position from a result row)
_SHOWN = Reader(
    "id",
    "status",
    "title",
    "notes",
    "due_at",
    "assignee_name",
    "project_id",
    "project_label",
    "firm_id",
    "firm_label",
    "version",
)


def followup_rows_html_for(env: jinja2.Environment) -> Callable[..., Markup]:
    """``followup_rows_html(rows, now, token, tail, words)`` for one language's environment:
    ``rows`` of ``crm.followups.service.list_followups`` (they carry their names), ``now`` the
    instant a due time is overdue before, ``token`` the CSRF token of the rows' forms, ``tail``
    the markup every row's actions end with (an action's toast, else empty) and ``words``
    the four words the template passes (overdue, done, cancel, edit)."""
    g = env.globals
    local = env.filters["local"]

    def followup_rows_html(
        rows: Sequence[Any], now: datetime, token: Any, tail: Any, words: Sequence[Any]
    ) -> Markup:
        if not rows:
            return Markup("")
        status_words = g["status_words"]
        overdue_w, done_w, cancel_w, edit_w = map(esc, words)
        overdue = f' <span class="badge overdue">{overdue_w}</span>'
        token, tail = esc(token), esc(tail)
        read = _SHOWN(rows[0])
        out: list[str] = []
        add = out.append
        for f in rows:
            (
                fid,
                status,
                title,
                notes,
                due_at,
                assignee,
                project_id,
                project_label,
                firm_id,
                firm_label,
                version,
            ) = read(f)
            fid, is_open = esc(fid), status == "open"
            if project_id and project_label:
                target = f'<a href="/projects/{esc(project_id)}">{esc(project_label)}</a>'
            elif firm_id and firm_label:
                target = f'<a href="/firms/{esc(firm_id)}">{esc(firm_label)}</a>'
            else:
                target = ""
            actions = (
                _OPEN.format(
                    id=fid,
                    token=token,
                    version=esc(version),
                    done=done_w,
                    cancel=cancel_w,
                    edit=edit_w,
                )
                if is_open
                else ""
            )
            shown = esc(status)
            late = overdue if is_open and due_at < now else ""
            note = f'<div class="muted">{esc(do_truncate(env, notes, 80))}</div>' if notes else ""
            add(
                f'\n    \n    <tr id="fu-row-{fid}" class="fu-row status-{shown}">\n'
                f"      <td><strong>{esc(title)}</strong>{note}</td>\n"
                f"      <td>{esc(local(due_at))}{late}</td>\n"
                f"      <td>{esc(assignee or '')}</td>\n"
                f"      <td>{target}</td>\n"
                f'      <td><span class="status status-{shown}">{esc(status_words[status])}</span>'
                "</td>\n"
                f'      <td class="row-actions">\n        {actions}\n        {tail}\n'
                "      </td>\n    </tr>\n    "
            )
        return Markup("".join(out))

    return followup_rows_html
