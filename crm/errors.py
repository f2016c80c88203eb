"""Domain errors. Transports render them: JSON in ``api/``, an inline alert in ``web/``."""

from __future__ import annotations

from typing import Any, ClassVar

from crm.i18n import Message, as_message, render


class CRMError(Exception):
    """``message`` is a lazy :class:`crm.i18n.Message` (``_l("中文…")``), rendered in the
    reader's language by whoever shows it; a plain ``str`` is shown as it is.

    Each kind of error names its HTTP status and its code (the JSON's ``error``) in its class
    line: ``class NotFound(CRMError, status=404, code="not_found")``; a kind that names neither
    keeps its parent's."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None) -> None:
        super().__init_subclass__()
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message: Message | str, *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message: Message = as_message(message)  # old "中文 / English" text: one half each
        self.field = field
        self.extra = extra

    def text(self, lang: str | None = None) -> str:
        """The message in ``lang`` (default: the language in use, see ``crm.i18n.using``)."""
        return self.message.render(lang)

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.text(lang)}
        if self.field:
            out["field"] = self.field
        out.update({k: render(v, lang) for k, v in self.extra.items() if k != "current"})
        return out


class NotFound(CRMError, status=404, code="not_found"):
    """Missing, or not visible to this user: the two are never told apart."""


class PermissionDenied(CRMError, status=403, code="forbidden"):
    """Not this user's to do: their role or their scope does not allow it."""


class ValidationFailed(CRMError, status=422, code="validation_error"):
    """Bad input: ``field`` (and ``errors``, one per field) say where."""

    def __init__(
        self,
        message: Message | str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message, field=field, **extra)
        self.errors = errors or ([{"field": field, "message": message}] if field else [])

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out = super().to_dict(lang)
        if self.errors:
            out["errors"] = render(self.errors, lang)
        return out


class Conflict(CRMError, status=409, code="conflict"):
    """A duplicate, or an illegal state change."""


class StaleVersion(Conflict, code="stale_version"):
    """Someone saved first: the caller's version is not the current one."""

    def __init__(self, message: Message | str, *, current: Any = None) -> None:
        super().__init__(message)
        self.current = current


class AuthFailed(CRMError, status=401, code="unauthorized"):
    """Not signed in, or the credentials are wrong."""


class Locked(CRMError, status=429, code="locked"):
    """Too many failed attempts: the login waits."""


class Busy(CRMError, status=503, code="busy"):
    """The database could not take the write now (another writer holds its lock): nothing was
    saved, and the same request a moment later will most likely succeed."""
