"""The pipeline table's rows as HTML (``pipeline/table.html``), built in Python.

A page of the table is 50 rows of ten values each; the template's loop over them — an
attribute lookup, an escape and a ``Markup`` per value, a macro call for the stage, a filter
call for the date — was most of the page's rendering. Here each value is escaped once into
one string per row, as ``web.followup_rows`` does for the follow-up list; the output is the
template's, byte for byte. The words (选择, 保密, 撞单) stay in the template, where the
catalogue finds them, and come in as ``words``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jinja2
from markupsafe import Markup

from web.html import Reader, esc

# what a row shows, read in one call (crm.projects.reads.TableRow)
_SHOWN = Reader(
    "id",
    "title",
    "firm_id",
    "firm_name",
    "cluster",
    "park",
    "stage",
    "planned_investment",
    "owner_id",
    "is_confidential",
    "in_conflict",
    "updated_at",
)


def pipeline_rows_html_for(env: jinja2.Environment) -> Callable[..., Markup]:
    """``pipeline_rows_html(rows, bulk, user_names, words)`` for one language's environment:
    ``rows`` of ``crm.projects.reads.table_rows``, ``bulk`` whether each row has a box to
    select it for reassignment, ``user_names`` the owners' names by id and ``words`` the
    three words the template passes (select, confidential, conflict)."""
    g = env.globals
    local = env.filters["local"]

    def pipeline_rows_html(
        rows: Sequence[Any], bulk: bool, user_names: dict[int, str], words: Sequence[Any]
    ) -> Markup:
        if not rows:
            return Markup("")
        cluster_text, park_text, yi = g["cluster_text"], g["park_text"], g["yi"]
        stage_words = g["stage_words"]
        select_w, confidential_w, conflict_w = map(esc, words)
        confidential = f' <span class="badge">{confidential_w}</span>'
        conflict = f' <span class="badge overdue">{conflict_w}</span>'
        read = _SHOWN(rows[0])
        out: list[str] = []
        add = out.append
        for p in rows:
            (
                pid,
                title,
                firm_id,
                firm_name,
                cluster,
                park,
                stage,
                planned,
                owner_id,
                is_confidential,
                in_conflict,
                updated_at,
            ) = read(p)
            pid, title = esc(pid), esc(title)
            box = (
                f'<td class="sel"><input type="checkbox" name="ids" value="{pid}"'
                f' form="bulk-reassign" aria-label="{select_w} {title}"></td>'
                if bulk
                else ""
            )
            park_title = f' title="{esc(park)}"' if park else ""
            add(
                f"\n    <tr>\n      {box}\n"
                f'      <td><a href="/projects/{pid}">{title}</a>'
                f"{confidential if is_confidential else ''}{conflict if in_conflict else ''}</td>\n"
                f'      <td><a href="/firms/{esc(firm_id)}">{esc(firm_name)}</a></td>\n'
                f'      <td title="{esc(cluster)}">{esc(cluster_text(cluster))}</td>\n'
                f"      <td{park_title}>{esc(park_text(park))}</td>\n"
                f'      <td><span class="stage stage-{esc(stage)}">{esc(stage_words[stage])}'
                "</span></td>\n"
                f'      <td class="num">{esc(yi(planned))}</td>\n'
                f"      <td>{esc(user_names.get(owner_id, ''))}</td>\n"
                f'      <td class="muted">{esc(local(updated_at))}</td>\n'
                "    </tr>\n    "
            )
        return Markup("".join(out))

    return pipeline_rows_html
