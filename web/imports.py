"""Import page: upload a workbook, see every rejected row, nothing half-imported."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from crm.authz import require_manager
from crm.errors import CRMError, ValidationFailed
from crm.i18n import _l
from crm.imports.service import IMPORTERS, run_import
from crm.imports.templates import template_workbook
from server.deps import SessionDep, WebUser
from web.render import render

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 10 * 1024 * 1024


@router.get("/imports", include_in_schema=False)
def import_page(request: Request, user: WebUser) -> Response:
    require_manager(user)
    return render(request, "imports/index.html", {"nav": "imports", "kinds": list(IMPORTERS)})


@router.post("/imports", include_in_schema=False)
def import_upload(
    request: Request,
    session: SessionDep,
    user: WebUser,
    kind: Annotated[str, Form(max_length=20)],
    file: Annotated[UploadFile | None, File()] = None,
    mode: Annotated[str, Form(max_length=20)] = "check",
    update: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    require_manager(user)
    ctx = {
        "nav": "imports",
        "kinds": list(IMPORTERS),
        "kind": kind,
        "mode": mode,
        "update": bool(update),
    }
    try:
        if file is None or not file.filename:
            raise ValidationFailed(_l("请选择文件"), field="file")
        # a plain (sync) route: FastAPI runs it in its thread pool, so a long import never
        # holds the event loop that serves everyone else's requests
        data = file.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise ValidationFailed(_l("文件超过10MB"), field="file")
        report = run_import(
            session,
            user,
            kind,
            data,
            file.filename,
            dry_run=mode == "check",
            skip_invalid=mode == "skip",
            update_matching=bool(update),
        )
    except CRMError as exc:
        session.rollback()
        return render(
            request,
            "imports/index.html",
            {**ctx, "error": exc.message, "error_field": exc.field},
            block="result",
            status_code=422,
        )
    if not report.applied:
        session.rollback()
    return render(
        request,
        "imports/index.html",
        {**ctx, "report": report, "filename": file.filename},
        block="result",
    )


@router.get("/imports/template/{kind}.xlsx", include_in_schema=False)
def import_template(user: WebUser, kind: str) -> Response:
    require_manager(user)
    if kind not in IMPORTERS:
        raise ValidationFailed(_l("未知导入类型"), field="kind")
    return Response(
        template_workbook(kind),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="import-{kind}.xlsx"'},
    )
