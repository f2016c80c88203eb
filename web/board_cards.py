"""The pipeline board's cards as HTML (``pipeline/_card.html``), built in Python.

A board is up to 84 cards (12 a column) of a dozen values each, most with a move form; the
template's loop over them — an attribute lookup, an escape and a ``Markup`` per value, a
filter call for a lost project's reason — was two thirds of the board's rendering. Here each
value is escaped once into one string per card, as ``web.pipeline_rows`` does for the table;
the output is the template's, byte for byte. The words stay in the template, where the
catalogue finds them, and come in as ``words``."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import jinja2
from jinja2.filters import do_truncate
from markupsafe import Markup

from web.html import Reader, esc

# what a card shows, read in one call (crm.projects.reads.BoardCard, or the API's shape of a
# moved or stale card)
_SHOWN = Reader(
    "id",
    "version",
    "stage",
    "title",
    "firm_name",
    "cluster",
    "park",
    "planned_investment",
    "owner_id",
    "is_confidential",
    "in_conflict",
    "lost_reason",
)

_FORM = (
    '\n  <form class="move" method="post" action="/projects/{id}/stage"'
    ' hx-post="/projects/{id}/stage" hx-target="#card-{id}" hx-swap="outerHTML">\n'
    '    <input type="hidden" name="csrf_token" value="{token}">\n'
    '    <input type="hidden" name="version" value="{version}">\n'
    '    <input type="hidden" name="via" value="board">\n'
    '    <select name="stage" aria-label="{move_to}">\n'
    "      {options}\n"
    "    </select>\n"
    '    <button class="btn small" type="submit">{move}</button>\n'
    "  </form>\n  "
)
_MOVABLE = ' data-movable="1"'


def board_cards_html_for(env: jinja2.Environment) -> Callable[..., Markup]:
    """``board_cards_html(items, stage_opts, movable, token, user_names, words)`` for one
    language's environment: ``items`` the cards, ``stage_opts`` each stage's move choices
    (``<option>`` markup), ``movable`` the ids of the cards the user may move
    (crm.authz.can_change_project, decided in web/pipeline), ``token`` the CSRF token of the
    move forms, ``user_names`` the owners' names by id and ``words`` the six words the
    template passes (亿元, confidential, conflict, reason, move to, move)."""
    g = env.globals

    def board_cards_html(
        items: Sequence[Any],
        stage_opts: Mapping[str, Any],
        movable: Collection[int],
        token: Any,
        user_names: Mapping[int, str],
        words: Sequence[Any],
    ) -> Markup:
        if not items:
            return Markup("")
        cluster_text, park_text = g["cluster_text"], g["park_text"]
        yi_w, conf_w, conflict_w, reason_w, move_to_w, move_w = map(esc, words)
        confidential = f'<span class="badge">{conf_w}</span>'
        conflict = f'<span class="badge overdue">{conflict_w}</span>'
        token = esc(token)
        read = _SHOWN(items[0])
        out: list[str] = []
        add = out.append
        for p in items:
            (
                pid,
                version,
                stage,
                title,
                firm_name,
                cluster,
                park,
                planned,
                owner_id,
                is_confidential,
                in_conflict,
                lost_reason,
            ) = read(p)
            can_move = pid in movable
            options = stage_opts[stage] if can_move else ""
            lost_shown = stage == "lost" and lost_reason
            pid, version, stage = esc(pid), esc(version), esc(stage)
            where = f' · <span title="{esc(park)}">{esc(park_text(park))}</span>' if park else ""
            amount = (
                f"<span>{esc(f'{planned.normalize():,f}')} {yi_w}</span>"
                if planned is not None
                else ""
            )
            owner = (
                f'<span class="muted">{esc(user_names.get(owner_id, ""))}</span>'
                if owner_id
                else ""
            )
            lost = (
                f'<div class="muted small">{reason_w}: {esc(do_truncate(env, lost_reason, 60))}'
                "</div>"
                if lost_shown
                else ""
            )
            form = (
                _FORM.format(
                    id=pid,
                    token=token,
                    version=version,
                    move_to=move_to_w,
                    options=esc(options),
                    move=move_w,
                )
                if can_move
                else ""
            )
            add(
                f'<article class="pcard" id="card-{pid}" data-id="{pid}" data-version="{version}"'
                f' data-stage="{stage}"{_MOVABLE if can_move else ""}>\n'
                f'  <a class="ptitle" href="/projects/{pid}">{esc(title)}</a>\n'
                f'  <div class="muted small">{esc(firm_name)} · <span title="{esc(cluster)}">'
                f"{esc(cluster_text(cluster))}</span>{where}</div>\n"
                '  <div class="pmeta small">\n'
                f"    {amount}\n"
                f"    {owner}\n"
                f"    {confidential if is_confidential else ''}\n"
                f"    {conflict if in_conflict else ''}\n"
                "  </div>\n"
                f"  {lost}\n"
                f"  {form}\n"
                "</article>"
            )
        return Markup("".join(out))

    return board_cards_html
