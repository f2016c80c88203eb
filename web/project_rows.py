"""A project page's lists as HTML (``projects/detail.html``), built in Python: its last 30
contacts, its stage history and its follow-ups.

The template's loops over them — an attribute lookup, an escape and a ``Markup`` per value, a
filter call per date, a translation per contact — were most of the page's rendering. Here each
value is escaped once into one string per row, as ``web.timeline`` does for a firm's timeline;
the output is the template's, byte for byte. The words stay in the template, where the
catalogue finds them, and come in as arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jinja2
from markupsafe import Markup

from web.html import Reader, esc

_ACTIVITY = Reader("occurred_at", "kind", "created_by_id", "summary", "outcome")
_CHANGE = Reader("changed_at", "from_stage", "to_stage", "changed_by_id", "reason")
_FOLLOWUP = Reader("title", "due_at", "assignee_name", "status")


def project_rows_for(env: jinja2.Environment) -> dict[str, Callable[..., Markup]]:
    """The page's three lists for one language's environment, as globals by name."""
    g = env.globals
    local = env.filters["local"]

    def project_activities_html(
        rows: Sequence[Any], user_names: dict[int, str], result: Any
    ) -> Markup:
        """The contacts' ``<li>`` (``result``: the word before an outcome)."""
        if not rows:
            return Markup("")
        kind_words = g["kind_words"]
        result = esc(result)
        read = _ACTIVITY(rows[0])
        out = []
        for row in rows:
            at, kind, by, summary, outcome = read(row)
            said = f'<div class="muted">{result}: {esc(outcome)}</div>' if outcome else ""
            out.append(
                f'\n      <li><span class="muted">{esc(local(at))}</span> '
                f'<span class="badge">{esc(kind_words[kind])}</span> '
                f"{esc(user_names.get(by, ''))}\n"
                f'        <div class="pre">{esc(summary)}</div>{said}</li>\n      '
            )
        return Markup("".join(out))

    def project_history_html(rows: Sequence[Any], user_names: dict[int, str]) -> Markup:
        """The stage changes' ``<tr>``."""
        if not rows:
            return Markup("")
        stage_words = g["stage_words"]
        read = _CHANGE(rows[0])
        out = []
        for row in rows:
            at, was, to, by, reason = read(row)
            out.append(
                f"\n      <tr><td>{esc(local(at))}</td>"
                f"<td>{esc(stage_words[was]) if was else '—'}</td>"
                f"<td>{esc(stage_words[to])}</td>"
                f"<td>{esc(user_names.get(by, ''))}</td>"
                f"<td>{esc(reason or '')}</td></tr>\n      "
            )
        return Markup("".join(out))

    def project_followups_html(rows: Sequence[Any]) -> Markup:
        """The follow-ups' ``<tr>``."""
        if not rows:
            return Markup("")
        status_words = g["status_words"]
        read = _FOLLOWUP(rows[0])
        out = []
        for row in rows:
            title, due_at, assignee, status = read(row)
            out.append(
                f"\n      <tr><td>{esc(title)}</td><td>{esc(local(due_at))}</td>"
                f"<td>{esc(assignee or '')}</td>"
                f'<td><span class="status status-{esc(status)}">{esc(status_words[status])}'
                "</span></td></tr>\n      "
            )
        return Markup("".join(out))

    return {
        "project_activities_html": project_activities_html,
        "project_history_html": project_history_html,
        "project_followups_html": project_followups_html,
    }
