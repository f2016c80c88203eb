"""The signed-in user's own account: profile and password change."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import Response
from pydantic import BaseModel, Field

from crm.accounts.service import change_password
from crm.errors import ValidationFailed
from crm.i18n import _l
from server.deps import SESSION_KEY
from web.forms import FormRejected
from web.visit import PageVisit, Visit

router = APIRouter()


def _page(visit: PageVisit, **ctx: object) -> Response:
    status = int(ctx.pop("status_code", 200))  # type: ignore[call-overload]
    return visit.render(
        "account/account.html",
        {"nav": "account", "errors": {}, "me": visit.user, **ctx},
        status_code=status,
    )


@router.get("/account", include_in_schema=False)
def account_page(visit: Visit) -> Response:
    return _page(visit, done=visit.request.query_params.get("done") == "1")


class PasswordChange(BaseModel):
    """The password form: the current password, and the new one twice."""

    old_password: str = Field("", max_length=1024)
    new_password: str = Field("", max_length=1024)
    new_password2: str = Field("", max_length=1024)


@router.post("/account/password", include_in_schema=False)
def account_password(visit: Visit, form: Annotated[PasswordChange, Form()]) -> Response:
    try:
        if form.new_password != form.new_password2:
            raise ValidationFailed(_l("两次输入的新密码不一致"), field="new_password2")
        change_password(
            visit.session,
            visit.user,
            form.old_password,
            form.new_password,
            keep_sid=visit.request.session.get(SESSION_KEY),
        )
    except ValidationFailed as exc:
        errors = {exc.field or "new_password": exc.message}
        raise FormRejected(_page(visit, errors=errors, status_code=422)) from exc
    return _page(visit, done=True)
