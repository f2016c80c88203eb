"""The pipeline: a board with a column per stage (drag or a button moves a project), a table,
filters by cluster, park, officer and department; the stage move itself."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from crm.accounts.service import user_choices
from crm.authz import can_change_project, is_manager
from crm.errors import StaleVersion, ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from crm.models.projects import Stage
from crm.policy.service import plan_lists
from crm.projects.lists import (
    PROJECT_SORTS,
    ProjectFilters,
    board_columns,
    check_filter_codes,
    list_project_rows,
    list_projects,
)
from crm.projects.reads import board_cards, get_project_for, table_rows, to_public_many
from crm.projects.schemas import StageMoveRequest
from crm.projects.service import move_stage
from crm.schemas import read_id
from crm.sorting import parse_sort
from server.download import EXPORT_LIMIT, list_workbook
from web.bulk import bulk_context
from web.forms import FormBody, FormInvalid, FormRejected, done, errors_of, parse
from web.projects import section_refused
from web.visit import ShortWriteVisit, Visit

router = APIRouter()
STAGES = [s.value for s in Stage]  # lead … operating, then lost
CARDS = 12  # cards per column (a screenful): the most recently updated; "more" loads the next
COUNT_CAP = 999  # per-column counts stop here ("999+"): the board never counts 20,000 rows
PAGE = 50


def _int(value: str | None) -> int | None:
    n = read_id(value)
    return n if n else None


def _code(value: str | None) -> str | None:
    v = (value or "").strip()
    return v[:20] if v else None


def _filters(request: Request) -> tuple[ProjectFilters, dict[str, str]]:
    q = request.query_params
    f = ProjectFilters(
        cluster=_code(q.get("cluster")),
        park=_code(q.get("park")),
        owner_id=_int(q.get("officer")),
        department_id=_int(q.get("department")),
    )
    chosen = {
        "cluster": f.cluster or "",
        "park": f.park or "",
        "officer": str(f.owner_id or ""),
        "department": str(f.department_id or ""),
    }
    return f, chosen


def _query(chosen: dict[str, str], **extra: Any) -> str:

    return urlencode({**{k: v for k, v in chosen.items() if v}, **extra})


def options(session: Session, user: User) -> dict[str, Any]:
    """The filters' choices, and the names shown on cards."""
    users = user_choices(session, user)
    plan = plan_lists(session)
    return {
        "clusters": plan.clusters,
        "parks": plan.parks,
        "officers": users.officers,
        "departments": plan.departments,
        "user_names": users.names,
    }


def _columns(
    session: Session, user: User, f: ProjectFilters, stages: list[str], offset: int = 0
) -> list[dict[str, Any]]:
    """The board's columns: each stage's most recent cards (one page from ``offset``) and its
    count (two statements for the whole board); the cards' names and codes are looked up once."""
    found = board_columns(session, user, f, stages, CARDS, offset=offset, count_cap=COUNT_CAP)
    cards = iter(board_cards(session, [p for _, rows, _ in found for p in rows]))
    return [
        {
            "stage": s,
            "cards": [next(cards) for _ in rows],
            # a move form only on the cards this user may move (crm.authz, as the move checks)
            "movable": {p.id for p in rows if can_change_project(user, p)},
            "count": total,
            "capped": total > COUNT_CAP,
            "next": offset + CARDS if total > offset + CARDS else None,
        }
        for s, rows, total in found
    ]


@router.get("/pipeline", include_in_schema=False)
def pipeline(
    visit: Visit,
    view: str = "board",
    page: int = 1,
    format: str = "",
) -> Response:
    f, chosen = _filters(visit.request)
    check_filter_codes(visit.session, f.cluster, f.park)  # an unknown one: 422, as the API
    if view == "table" or format == "xlsx":  # the table (and its export): the reader's column
        f = replace(f, sort=parse_sort(visit.request.query_params.get("sort"), PROJECT_SORTS))
    if format == "xlsx":  # the table as filtered on screen, every row
        rows, _ = list_projects(visit.session, visit.user, f, limit=EXPORT_LIMIT)
        return list_workbook(
            visit.session,
            visit.user,
            "projects",
            to_public_many(visit.session, rows, visit.user),
            vars(f),
            lang=visit.lang,
        )
    ctx: dict[str, Any] = {
        "nav": "pipeline",
        "chosen": chosen,
        "view": view,
        "stages": STAGES,
        "query_board": _query(chosen),
        "query_table": _query(chosen, view="table"),
        **options(visit.session, visit.user),
    }
    if view == "table":
        page = max(1, min(page, 10_000))
        rows, total = list_project_rows(
            visit.session, visit.user, f, limit=PAGE, offset=(page - 1) * PAGE
        )
        ctx.update(
            view="table",
            rows=table_rows(visit.session, rows),
            total=total,
            page=page,
            pages=max(1, -(-min(total, 10_000) // PAGE)),
            sort=f.sort,
            sort_query=_query(chosen, view="table"),
            query=_query(chosen, view="table", **({"sort": f.sort.param} if f.sort else {})),
            bulk=is_manager(visit.user),  # rows to select for reassignment (web/bulk.py)
        )
        if ctx["bulk"] and not visit.htmx:
            ctx.update(bulk_context(visit, "project"))
        return visit.render("pipeline/table.html", ctx, block="results")
    ctx.update(
        view="board", columns=_columns(visit.session, visit.user, f, STAGES), query=_query(chosen)
    )
    return visit.render("pipeline/board.html", ctx, block="board")


@router.get("/pipeline/column/{stage}", include_in_schema=False)
def more_cards(visit: Visit, stage: str, offset: int = 0) -> Response:
    if stage not in STAGES:
        raise ValidationFailed(_l("未知阶段"), field="stage")
    f, chosen = _filters(visit.request)
    check_filter_codes(visit.session, f.cluster, f.park)
    if not visit.htmx:  # a fragment: opened by hand, it leads to the board it belongs to
        return RedirectResponse(f"/pipeline?{_query(chosen)}", status_code=303)
    col = _columns(visit.session, visit.user, f, [stage], max(0, min(offset, 100_000)))[0]
    return visit.render(
        "pipeline/board.html",
        {
            "col": col,
            "query": _query(chosen),
            "stages": STAGES,
            "user_names": options(visit.session, visit.user)["user_names"],
        },
        block="more",
    )


@router.post("/projects/{project_id:id}/stage", include_in_schema=False)
def move(form: FormBody, visit: ShortWriteVisit, project_id: int) -> Response:
    """Move a project to another stage. A move to `lost` without a reason answers with the
    reason form (in the board's dialog, or beside the field on the project page). The move is
    a short write of its own (``visit.writing()``): SQLite's write lock is held for it alone,
    not for the request's reads and the card's rendering."""
    values = {k: str(form.get(k) or "").strip() for k in ("stage", "reason", "version")}
    data_in: dict[str, Any] = {"stage": values["stage"]}
    if values["reason"]:
        data_in["reason"] = values["reason"]
    if values["version"]:
        data_in["version"] = values["version"]
    if form.get("confirm_backward") in ("on", "1", "true", "yes"):
        data_in["confirm_backward"] = True
    via = str(form.get("via") or "board")
    p = get_project_for(visit.session, visit.user, project_id)
    from_stage = p.stage
    try:
        # a page always sends the version it showed: without it the move is refused
        data = parse(visit.request, StageMoveRequest, data_in, ints=("version",))
        with visit.writing():
            moved = move_stage(visit.session, visit.user, project_id, data)
    except (FormInvalid, ValidationFailed) as exc:
        errors = errors_of(visit.request, exc)
        if via == "page":
            raise section_refused(visit, p, "stage", errors, values) from exc
        if values["stage"] == "lost" and visit.htmx:
            # ask for the reason in the board's dialog
            raise FormRejected(
                visit.render(
                    "pipeline/_lost_form.html",
                    {"p": p, "errors": errors if form.get("asked") else {}, "values": values},
                    headers={
                        "HX-Retarget": "#lost-dialog-body",
                        "HX-Reswap": "innerHTML",
                        "X-CRM-Swap": "1",
                    },
                )
            ) from exc
        raise
    except StaleVersion as exc:
        if via == "page" or not visit.htmx:
            raise
        raise FormRejected(_stale_card(visit, project_id)) from exc
    if via == "page" or not visit.htmx:
        return done(visit.request, f"/projects/{project_id}")
    card = to_public_many(visit.session, [moved], visit.user)[0]
    return visit.render(
        "pipeline/_moved.html",
        {
            "p": card,
            "stages": STAGES,
            "user_names": options(visit.session, visit.user)["user_names"],
        },
        headers={
            "HX-Trigger": json.dumps(
                {"crm:moved": {"from": from_stage, "to": moved.stage, "id": moved.id}}
            )
        },
    )


STALE_CARD = _l("记录已被他人修改，卡片已更新为最新内容，请重新操作")


def _stale_card(visit: Visit, project_id: int) -> Response:
    """A board move refused because someone saved first (409): the card as it is now, put in
    its current column in place of the stale one, and a toast saying so — without it every
    further click repeated the same 409 until the page was reloaded (ATTACK9 P3-12)."""
    current = get_project_for(visit.session, visit.user, project_id)
    visit.session.refresh(current)
    card = to_public_many(visit.session, [current], visit.user)[0]
    message = STALE_CARD.render(visit.lang)
    return visit.render(
        "pipeline/_stale.html",
        {
            "p": card,
            "movable": can_change_project(visit.user, current),
            "stages": STAGES,
            "user_names": options(visit.session, visit.user)["user_names"],
        },
        status_code=409,
        headers={
            "HX-Reswap": "none",
            "HX-Trigger": json.dumps({"crm:toast": {"message": message, "kind": "error"}}),
        },
    )
