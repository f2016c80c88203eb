"""Bearer tokens: POST /api/v1/auth/token (OAuth2 password form), revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from crm.accounts.service import authenticate, issue_api_token, revoke_api_token
from crm.config import get_settings
from crm.errors import CRMError
from server.deps import ApiUser, SessionDep, client_ip, oauth2

router = APIRouter(prefix="/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


@router.post("/token", response_model=Token, summary="Exchange a user name and password for a "
             "bearer token", responses={401: {"description": "wrong user name or password"},
                                        429: {"description": "locked out"}})
def token(request: Request, session: SessionDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    try:
        user = authenticate(session, form.username, form.password, client_ip(request))
    except CRMError:
        session.commit()  # keep the failed attempt
        raise
    raw, _row = issue_api_token(session, user)
    return Token(access_token=raw, expires_in=get_settings().api_token_hours * 3600)


@router.post("/revoke", status_code=204, summary="Revoke the bearer token used for this call")
def revoke(session: SessionDep, user: ApiUser,
           token: Annotated[str | None, Depends(oauth2)]) -> None:
    if token:
        revoke_api_token(session, user, token)
