"""The caller's own account: POST /api/v1/me/password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from crm.accounts.service import change_password
from server.deps import ApiUser, SessionDep, oauth2

router = APIRouter(prefix="/me", tags=["me"])


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.post(
    "/password",
    status_code=204,
    summary="Change your password; your other sessions and tokens end",
    responses={
        422: {
            "description": "wrong current password, or the new one breaks "
            "the password policy (field says which)"
        }
    },
)
def me_password(
    body: PasswordChange,
    session: SessionDep,
    user: ApiUser,
    token: Annotated[str | None, Depends(oauth2)],
) -> None:
    change_password(session, user, body.old_password, body.new_password, keep_token=token)
