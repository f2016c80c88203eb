"""Progress of the import running in this thread, for the page that polls it.

The importers call :func:`tick` as they go (``reading``, ``checking``, ``importing``, with the
rows done so far) and :func:`rows` around their row loops; with no reporter set (the CLI, tests
of the importers) both cost next to nothing. ``crm.imports.runs`` sets a reporter for a run."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

Reporter = Callable[[str, int, int | None], None]  # phase, done, total (if known)
_reporter: ContextVar[Reporter | None] = ContextVar("crm_import_progress", default=None)
EVERY = 500  # rows between two reports

T = TypeVar("T")


def tick(phase: str, done: int, total: int | None = None) -> None:
    """``done`` rows of ``phase`` are through. ``importing`` is announced before the import
    writes its first row: from then on the reporter must not write to the database itself (on
    SQLite the import's own transaction holds the write lock)."""
    fn = _reporter.get()
    if fn is not None:
        fn(phase, done, total)


def rows(items: Iterable[T], phase: str) -> Iterator[T]:
    """``items`` as they are, with a report every :data:`EVERY` of them."""
    fn = _reporter.get()
    if fn is None:
        yield from items
        return
    total = len(items) if isinstance(items, Sized) else None
    n = 0
    fn(phase, 0, total)
    for n, item in enumerate(items, start=1):
        if n % EVERY == 0:
            fn(phase, n, total)
        yield item
    fn(phase, n, total)


@contextmanager
def reporting(fn: Reporter) -> Iterator[None]:
    token = _reporter.set(fn)
    try:
        yield
    finally:
        _reporter.reset(token)
