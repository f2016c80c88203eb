"""The caller's own account: POST /api/v1/me/password."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from crm.accounts.service import change_password
from server.deps import ApiUser, SessionDep

router = APIRouter(prefix="/me", tags=["me"])


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.post(
    "/password",
    status_code=204,
    summary="Change your password; your other sessions and every token end, this one too",
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
) -> None:
    change_password(session, user, body.old_password, body.new_password)
