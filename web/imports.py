"""Import pages: upload a file (stored, then imported by the worker process), watch its
progress, read its report, tick the possible duplicates to import anyway, the import history,
the rejected rows as .xlsx. Nothing half-imported."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, UploadFile
from fastapi.responses import Response

from crm.authz import require_manager
from crm.config import get_settings
from crm.errors import CRMError, ValidationFailed
from crm.i18n import _l
from crm.imports import run_report, runs, worker
from crm.imports.service import IMPORTERS
from crm.imports.templates import template_workbook
from crm.models.imports import ImportRun
from server.download import download
from web.forms import FormRejected
from web.visit import PageVisit, Visit

router = APIRouter()
MAX_UPLOAD = runs.MAX_UPLOAD
PAGE = 50


def _run_ctx(run: ImportRun) -> dict[str, object]:
    live = runs.live_progress(run.id) if run.status == "running" and run.id else None
    phase, done, total = live if live else (run.phase, run.done_rows, run.total)
    return {
        "run": run,
        "phase": phase,
        "done": done,
        "total": total,
        "report": run_report.report_of(run),
        "run_error": run_report.error_of(run),
    }


def _run_block(visit: PageVisit, run: ImportRun, status: int = 200, **kw: object) -> Response:
    """The run's page, or its ``run`` block for HTMX (polled until the run is finished)."""
    ctx = {"nav": "imports", "kinds": list(IMPORTERS), **_run_ctx(run), **kw}
    return visit.render("imports/run.html", ctx, block="run", status_code=status)


def _queued(visit: PageVisit, background: BackgroundTasks, run: ImportRun) -> Response:
    """A run queued again: the worker woken after the answer (i.e. after the request's
    transaction committed the run), the run's block shown."""
    background.add_task(worker.kick)
    return _run_block(visit, run)


@router.get("/imports", include_in_schema=False)
def import_page(visit: Visit) -> Response:
    require_manager(visit.user)
    limit = min(MAX_UPLOAD, get_settings().max_body_bytes)
    ctx = {
        "nav": "imports",
        "kinds": list(IMPORTERS),
        "upload_limit": limit,
        "upload_mb": f"{limit / 1048576:g}",
    }
    return visit.render("imports/index.html", ctx)


@router.post("/imports", include_in_schema=False)
def import_upload(
    visit: Visit,
    background: BackgroundTasks,
    kind: Annotated[str, Form(max_length=20)],
    file: Annotated[UploadFile | None, File()] = None,
    mode: Annotated[str, Form(max_length=20)] = "check",
    update: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    require_manager(visit.user)
    ctx = {"nav": "imports", "kinds": list(IMPORTERS), "kind": kind, "mode": mode}
    try:
        if file is None or not file.filename:
            raise ValidationFailed(_l("请选择文件"), field="file")
        data = file.file.read(MAX_UPLOAD + 1)
        run = runs.create_run(
            visit.session,
            visit.user,
            kind,
            file.filename,
            data,
            mode=mode,
            update_matching=bool(update),
        )
    except CRMError as exc:
        raise FormRejected(
            visit.render(
                "imports/index.html",
                {**ctx, "error": exc.message, "error_field": exc.field},
                block="result",
                status_code=422,
            )
        ) from exc
    # after the response, i.e. after the request's transaction committed the stored upload
    background.add_task(worker.kick)
    return visit.render("imports/index.html", {**ctx, **_run_ctx(run)}, block="result")


@router.get("/imports/history", include_in_schema=False)
def import_history(
    visit: Visit,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    items, total = runs.history(visit.session, visit.user, limit=PAGE, offset=(page - 1) * PAGE)
    return visit.render(
        "imports/history.html",
        {"nav": "imports", "items": items, "total": total, "page": page, "per_page": PAGE},
    )


@router.get("/imports/runs/{run_id:id}", include_in_schema=False)
def import_run_page(visit: Visit, run_id: int) -> Response:
    """The run's page; HTMX polls its ``run`` block until the run is finished."""
    runs.recover_stale(visit.session)
    run = runs.get_run(visit.session, visit.user, run_id)
    if run.status == "queued":
        worker.kick()  # a run queued by a process that stopped before it got to it
    return _run_block(visit, run)


@router.post("/imports/runs/{run_id:id}/retry", include_in_schema=False)
def import_run_retry(visit: Visit, background: BackgroundTasks, run_id: int) -> Response:
    return _queued(visit, background, runs.retry(visit.session, visit.user, run_id))


@router.post("/imports/runs/{run_id:id}/import-anyway", include_in_schema=False)
def import_run_anyway(
    visit: Visit,
    background: BackgroundTasks,
    run_id: int,
    row: Annotated[list[int] | None, Form(max_length=2000)] = None,
    mode: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    """The possible duplicates ticked "import anyway" go in with the file's other rows; the
    others stay out (the rejected rows). A new run of the same file."""
    src = runs.get_run(visit.session, visit.user, run_id)
    try:
        run = runs.import_anyway(visit.session, visit.user, run_id, row or [], mode or None)
    except CRMError as exc:
        raise FormRejected(
            _run_block(visit, src, 422, error=exc.message, error_field=exc.field)
        ) from exc
    return _queued(visit, background, run)


@router.get("/imports/runs/{run_id:id}/rejected.xlsx", include_in_schema=False)
def import_run_rejected(visit: Visit, run_id: int) -> Response:
    run = runs.get_run(visit.session, visit.user, run_id)
    data = run_report.rejected_workbook(run, visit.lang)
    return download(data, f"import-{run_id}-rejected.xlsx")


@router.get("/imports/template/{kind}.xlsx", include_in_schema=False)
def import_template(visit: Visit, kind: str) -> Response:
    require_manager(visit.user)
    if kind not in IMPORTERS:
        raise ValidationFailed(_l("未知导入类型"), field="kind")
    return download(template_workbook(kind, visit.lang), f"import-{kind}.xlsx")
