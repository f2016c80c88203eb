"""Bearer tokens: POST /api/v1/auth/token (OAuth2 password form), revoke."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request, Response
from pydantic import AfterValidator, BaseModel

from api.common import _err
from crm.accounts.service import authenticate, issue_api_token, revoke_api_token
from crm.config import get_settings
from crm.errors import CRMError
from crm.schemas import _no_nul
from server.deps import ApiUser, SessionDep, client_ip, oauth2

router = APIRouter(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post(
    "/token",
    response_model=Token,
    summary="Exchange a user name and password for a bearer token",
    responses={
        401: _err("wrong user name or password"),
        422: _err("a missing or oversized field"),
        429: _err("locked out after repeated failures"),
    },
)
def token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(min_length=1, max_length=60), AfterValidator(_no_nul)],
    password: Annotated[str, Form(min_length=1, max_length=256), AfterValidator(_no_nul)],
    grant_type: Annotated[Literal["password"] | None, Form()] = None,
) -> Token:
    try:
        user = authenticate(session, username, password, client_ip(request))
    except CRMError:
        session.commit()  # keep the failed attempt
        raise
    raw, _row = issue_api_token(session, user)
    return Token(access_token=raw, expires_in=get_settings().api_token_hours * 3600)


@router.post(
    "/revoke",
    status_code=204,
    response_class=Response,
    summary="Revoke the bearer token used for this call",
    responses={401: _err("no valid bearer token"), 404: _err("no such token")},
)
def revoke(
    session: SessionDep, user: ApiUser, token: Annotated[str | None, Depends(oauth2)]
) -> None:
    if token:
        revoke_api_token(session, user, token)
