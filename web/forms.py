"""Form helpers for the pages: raw form values → a pydantic input schema, and validation or
domain errors → one message per field, in the page's language, shown beside it; the answer
after a successful post."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from crm.errors import CRMError, StaleVersion, ValidationFailed
from crm.i18n import Message, _l, translations, validation_message
from crm.schemas import read_id
from crm.submissions import AlreadySubmitted, KeyReused, read_key
from web.render import is_htmx, language


async def _form_body(request: Request) -> FormData:
    """The request's form, read on the event loop (its body arrives there), before the
    route's session takes the write lock."""
    return await request.form()


# a route that takes its form from here is a plain ``def``: FastAPI runs it in a worker thread,
# so its SQL (and a wait for the database) never blocks the event loop, which an ``async def``
# route that read the form itself would
FormBody = Annotated[FormData, Depends(_form_body)]

M = TypeVar("M", bound=BaseModel)
_WHOLE = re.compile("-?[0-9]{1,18}")


class FormRejected(Exception):
    """A page form was refused: raise it with the page that shows the errors.

    Raising (never returning) is what makes a refused change save nothing: the request's
    transaction rolls back as the exception leaves the handler (``server.deps.get_session``),
    then the one handler (``server.app``) sends ``response`` — the form with its errors."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"form refused ({response.status_code})")
        self.response = response


class FormInvalid(Exception):
    """The form's input is invalid: ``errors`` maps a field name (``"_"`` for the form's top)
    to a message in the page's language. Raised by ``validate`` / ``parse``; the handler
    catches it and raises ``FormRejected`` with the form re-rendered (one that no handler
    catches is a 422 page, ``server.app``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()) or "invalid")
        self.errors = errors


def gettext(request: Request, message: str) -> str:
    return translations(language(request)).gettext(message)


def pick(request: Request, message: str | Message) -> str:
    """A domain message in the page's language: a lazy ``crm.i18n.Message`` is rendered; an
    old-style "中文 / English" string shows the half in the page's language."""
    if isinstance(message, Message):
        return message.render(language(request))
    if " / " not in message:
        return message
    zh, en = message.split(" / ", 1)
    return en.strip() if language(request) == "en" else zh.strip()


def _message(request: Request, err: dict[str, Any]) -> str:
    """One pydantic error in the page's language (``crm.i18n.validation_message``)."""
    return validation_message(err).render(language(request))


def edit_refusal(request: Request, exc: FormInvalid | CRMError) -> tuple[dict[str, Any], int]:
    """An edit form's refusal as its errors and the answer's status: a stale version at the
    form's top (409), invalid input beside its fields (422); any other refusal (403, 404) is
    raised again, to be its own error page."""
    if isinstance(exc, StaleVersion):
        return {"_": exc.message}, 409
    if isinstance(exc, FormInvalid):
        return dict(exc.errors), 422
    if isinstance(exc, ValidationFailed):
        return field_errors(request, exc), 422
    raise exc


def field_name(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ".".join(parts)


def validate(request: Request, model: type[M], data: dict[str, Any], prefix: str = "") -> M:
    """``model(**data)`` or FormInvalid keyed by field name (``prefix`` added for nested forms)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for e in exc.errors():
            name = prefix + field_name(e.get("loc", ())) or "_"
            errors.setdefault(name, _message(request, e))
        raise FormInvalid(errors) from exc


def validate_all(
    request: Request, model: type[M], data: dict[str, Any], errors: dict[str, str]
) -> M:
    """``validate``, with ``errors`` the handler found itself (a value its form does not
    offer) reported beside theirs in one answer."""
    try:
        obj = validate(request, model, data)
    except FormInvalid as exc:
        raise FormInvalid({**exc.errors, **errors}) from exc
    if errors:
        raise FormInvalid(dict(errors))
    return obj


def not_offered(request: Request, value: Any, offered: Iterable[Any]) -> str | None:
    """A select's value that is not one of its options: "请从列表中选择" (as a vocabulary
    field's), else None."""
    if value in offered:
        return None
    return pick(request, _l("请从列表中选择"))


def errors_of(request: Request, exc: FormInvalid | CRMError) -> dict[str, str]:
    """A refused form's errors, field → message ("_" for the form's top), whichever raised."""
    if isinstance(exc, FormInvalid):
        return exc.errors
    return field_errors(request, exc)


def field_errors(
    request: Request, exc: ValidationError | CRMError, aliases: dict[str, str] | None = None
) -> dict[str, str]:
    """{field: message} in the page's language; errors without a field go under "_" (shown on
    top), unless a model-level message names one of ``aliases`` first."""
    out: dict[str, str] = {}
    if isinstance(exc, KeyReused):  # in a page's words: its user never chose the key
        return {"_": pick(request, FORM_REUSED)}
    if isinstance(exc, CRMError):
        name = exc.field or "_"
        out[(aliases or {}).get(name, name)] = pick(request, exc.message)
        return out
    for e in exc.errors():
        name = field_name(e.get("loc", ())) or "_"
        msg = _message(request, e)
        if name == "_":
            name = next(
                (
                    c
                    for c in (aliases or {})
                    if str(e.get("msg", "")).startswith(f"Value error, {c}")
                ),
                "_",
            )
        out.setdefault((aliases or {}).get(name, name), msg[:300])
    return out


def clean(form: Any, names: list[str]) -> dict[str, Any]:
    """The named form fields, stripped, empty ones left out."""
    out: dict[str, Any] = {}
    for n in names:
        v = form.get(n)
        if isinstance(v, str):
            v = v.strip()
            if v:
                out[n] = v
    return out


def parse(
    request: Request,
    model: type[M],
    data: dict[str, Any],
    ints: tuple[str, ...] = (),
    aliases: dict[str, str] | None = None,
) -> M:
    """Validate form strings into an input model; raises FormInvalid with errors per field.

    Ids and counts are strict integers in the schemas (JSON must not send "1"), so the form's
    strings are turned into ints here first."""
    errors: dict[str, str] = {}
    data = dict(data)
    for n in ints:
        if data.get(n) not in (None, ""):
            # ASCII digits only (int() would read "１２"); the schema's bounds decide the rest
            v = str(data[n]).strip()
            if _WHOLE.fullmatch(v):
                data[n] = int(v)
            else:
                errors[n] = gettext(request, "请输入整数")
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        errors = {**field_errors(request, exc, aliases), **errors}
    if errors:
        raise FormInvalid(errors)
    return obj


def done(request: Request, url: str) -> Response:
    """After a successful form: 303 for a plain post, HX-Redirect for HTMX."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# the hidden field of a create form's one-use key (``crm.submissions``; the templates' ``once``)
KEY_FIELD = "submission_key"


def submission_key(form: FormData) -> str | None:
    """The form's one-use key (``crm.submissions.claim`` takes it with the record), or None."""
    return read_key(form.get(KEY_FIELD))


# a create form's key posted with other fields, another firm or another form (``KeyReused``): a
# page kept by the browser's Back, changed and sent again, or a tampered one
FORM_REUSED = _l(
    "这张表单已提交过，内容与这次不同：这次的内容未记录。请核对后再提交一次（将另记一条）"
)


def key_to_show(key: str | None, exc: BaseException) -> str | None:
    """The one-use key a refused create form is shown again with: its own (nothing was
    recorded, the key is still free), unless the key was used already for another submission
    (``KeyReused``): then none, so the form gets a new one and, posted again, records."""
    return None if isinstance(exc, KeyReused) else key


def answered_before(request: Request, exc: AlreadySubmitted) -> Response:
    """A create form posted again with a key its first post used: nothing was recorded this
    time; the answer is where the first one sent the user (or, not known, the 409 saying
    "已提交，未重复记录")."""
    out = exc.outcome or ""
    if out.startswith("/") and not out.startswith(("//", "/api/")):  # a page of ours
        return done(request, out)
    raise exc


# --- raw values -----------------------------------------------------------------------------


def text(form: FormData, name: str) -> str | None:
    """A text field, stripped; blank → None."""
    v = form.get(name)
    if not isinstance(v, str):
        return None
    v = v.strip()
    return v or None


def integer(form: FormData, name: str) -> int | str | None:
    """An integer field: blank → None, digits → int, anything else left as text (so the
    schema reports it beside the field)."""
    v = text(form, name)
    if v is None:
        return None
    n = read_id(v)
    return v if n is None else n


def query_int(value: str | None, max_digits: int = 10) -> int | None:
    """A whole number in a query string (an id, a count): ASCII digits only, at most
    ``max_digits`` of them and at most ``MAX_ID`` (``crm.schemas.read_id``), else None — a
    picker or a list ignores what is not a number."""
    if value and len(value.strip()) <= max_digits:
        return read_id(value)
    return None


def required_version(form: FormData, name: str = "version") -> int:
    """The version the page showed: required on every change (without it nothing is saved;
    a stale one is the service's 409)."""
    v = integer(form, name)
    if not isinstance(v, int) or v < 1:
        raise ValidationFailed(_l("缺少版本号"), field=name)
    return v


def checkbox(form: FormData, name: str) -> bool:
    return form.get(name) in ("on", "1", "true", "yes")


def integers(form: FormData, name: str) -> list[int | str]:
    out: list[int | str] = []
    for v in form.getlist(name):
        if isinstance(v, str) and v.strip():
            n = read_id(v)
            out.append(v if n is None else n)
    return out


def lines(value: str | None) -> list[str]:
    """A textarea or comma list → its non-empty items (one per line, or split on commas)."""
    if not value:
        return []
    items: list[str] = []
    for line in value.replace("，", ",").replace("、", ",").splitlines():
        items.extend(p.strip() for p in line.split(","))
    return [i for i in dict.fromkeys(items) if i]
