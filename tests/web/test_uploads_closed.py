"""A file posted in a multipart body is closed when its request is done, whatever the handler
did with it — an upload the handler read through ``request.form()``, or a file posted to a form
that expects none — instead of being left to the garbage collector (whose ResourceWarning, with
warnings as errors, fails whichever later test happens to be running)."""

from __future__ import annotations

import gc
import warnings

from tests.factories import make_user

PACK = b"version: broken\n"


def _unclosed_files_after(do) -> list[str]:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        do()
        gc.collect()
    return [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)]


def test_an_upload_read_by_the_handler_is_closed(client, login, session):
    admin = make_user(session, "admin")
    session.commit()
    login(admin)

    def post() -> None:
        r = client.post(
            "/admin/policy/preview",
            data=login.csrf,
            files={"file": ("pack.yaml", PACK, "text/yaml")},
        )
        assert r.status_code in (200, 422), r.text[:300]

    assert _unclosed_files_after(post) == []


def test_a_file_posted_where_none_is_expected_is_closed(client, login, session):
    officer = make_user(session, "officer")
    session.commit()
    login(officer)

    def post() -> None:
        r = client.post(
            "/firms/new", data=login.csrf, files={"stray": ("a.txt", b"x" * 10, "text/plain")}
        )
        assert r.status_code < 500, r.text[:300]

    assert _unclosed_files_after(post) == []
