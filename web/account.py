"""The signed-in user's own account: profile and password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from crm.accounts.service import change_password
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.models.accounts import User
from server.deps import SESSION_KEY
from web.forms import FormRejected
from web.render import render
from web.visit import Visit

router = APIRouter()


def _page(request: Request, me: User, **ctx: object) -> Response:
    status = int(ctx.pop("status_code", 200))  # type: ignore[call-overload]
    return render(
        request,
        "account/account.html",
        {"nav": "account", "errors": {}, "me": me, **ctx},
        status_code=status,
    )


@router.get("/account", include_in_schema=False)
def account_page(visit: Visit) -> Response:
    return _page(visit.request, visit.user, done=visit.request.query_params.get("done") == "1")


@router.post("/account/password", include_in_schema=False)
def account_password(
    visit: Visit,
    old_password: Annotated[str, Form(max_length=1024)] = "",
    new_password: Annotated[str, Form(max_length=1024)] = "",
    new_password2: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    try:
        if new_password != new_password2:
            raise ValidationFailed(_l("两次输入的新密码不一致"), field="new_password2")
        change_password(
            visit.session,
            visit.user,
            old_password,
            new_password,
            keep_sid=visit.request.session.get(SESSION_KEY),
        )
    except ValidationFailed as exc:
        raise FormRejected(
            _page(
                visit.request,
                visit.user,
                errors={exc.field or "new_password": exc.message},
                status_code=422,
            )
        ) from exc
    return _page(visit.request, visit.user, done=True)
