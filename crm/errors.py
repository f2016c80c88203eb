"""Domain errors. Transports render them: JSON in ``api/``, an inline alert in ``web/``."""

from __future__ import annotations

from typing import Any


class CRMError(Exception):
    status = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        out.update({k: v for k, v in self.extra.items() if k != "current"})
        return out


class NotFound(CRMError):
    """Missing, or not visible to this user: the two are never told apart."""

    status = 404
    code = "not_found"


class PermissionDenied(CRMError):
    status = 403
    code = "forbidden"


class ValidationFailed(CRMError):
    status = 422
    code = "validation_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, field=field, **extra)
        self.errors = errors or ([{"field": field, "message": message}] if field else [])

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if self.errors:
            out["errors"] = self.errors
        return out


class Conflict(CRMError):
    """A duplicate, or an illegal state change."""

    status = 409
    code = "conflict"


class StaleVersion(Conflict):
    """Someone saved first: the caller's version is not the current one."""

    code = "stale_version"

    def __init__(self, message: str, *, current: Any = None) -> None:
        super().__init__(message)
        self.current = current


class AuthFailed(CRMError):
    status = 401
    code = "unauthorized"


class Locked(CRMError):
    status = 429
    code = "locked"
