"""Small helpers for my pages' forms (follow-ups, projects, the board): field errors beside the
fields, 303s. (web/forms.py holds the firm pages' helpers; the two could be merged.)"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from crm.errors import CRMError
from web.render import is_htmx


def field_errors(exc: ValidationError | CRMError, aliases: dict[str, str] | None = None
                 ) -> dict[str, str]:
    """{field: message} for the form; errors without a field go under '_' (shown on top)."""
    out: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for e in exc.errors():
            loc = [str(x) for x in e.get("loc", ())]
            name = loc[0] if loc else "_"
            msg = str(e.get("msg", "invalid"))
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, "):]
            if name == "_" or not loc:
                # model-level validators name the field in their message
                for cand in (aliases or {}):
                    if msg.startswith(cand):
                        name = cand
            out.setdefault((aliases or {}).get(name, name), msg[:300])
    else:
        out[(aliases or {}).get(exc.field or "_", exc.field or "_")] = exc.message
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


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values()), "invalid"))
        self.errors = errors


def parse(model: type[BaseModel], data: dict[str, Any], ints: tuple[str, ...] = (),
          aliases: dict[str, str] | None = None) -> Any:
    """Validate form strings into an input model; raises FormInvalid with errors per field.

    Ids and counts are strict integers in the schemas (JSON must not send "1"), so the form's
    strings are turned into ints here first."""
    errors: dict[str, str] = {}
    data = dict(data)
    for n in ints:
        if data.get(n) not in (None, ""):
            try:
                data[n] = int(data[n])
            except (TypeError, ValueError):
                errors[n] = "请输入整数 / enter a whole number"
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        errors = {**field_errors(exc, aliases), **errors}
    if errors:
        raise FormInvalid(errors)
    return obj


def toast_headers(message: str, kind: str = "ok") -> dict[str, str]:
    # ASCII JSON: header values must be latin-1; htmx decodes the \\u escapes
    return {"HX-Trigger": json.dumps({"crm:toast": {"message": message, "kind": kind}})}


def done(request: Request, url: str) -> Response:
    """After a successful form: 303 for a plain post, HX-Redirect for HTMX."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
