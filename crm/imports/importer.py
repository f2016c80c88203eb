"""What the three importers (firms, contacts, projects) share around their own row checks, in one
place: the signature, the manager check, reading the file, the report, the all-or-nothing stop
before anything is written, and the audit row of an applied import.

Each kind writes only its body (``Run`` → report); ``Importer(kind, headers, body)`` makes it the
callable ``import_firms(session, actor, data, filename, skip_invalid=…, dry_run=…, …)``."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

from sqlmodel import Session

from crm.audit.service import record
from crm.authz import require_manager
from crm.imports.common import ImportReport, _without_cyclic_gc
from crm.imports.reader import Sheet, read_rows
from crm.models.accounts import User


class ImportOptions(TypedDict, total=False):
    """How to import: ``skip_invalid`` (the valid rows go in, the rejected ones are listed),
    ``dry_run`` (check only), ``update_matching`` (contacts, projects: a row matching a record
    already there gives it the row's values), ``confirmed`` (firms: the row numbers of possible
    duplicates to import anyway). A kind ignores the options that are not its question."""

    skip_invalid: bool
    dry_run: bool
    update_matching: bool
    confirmed: Collection[int]


@dataclass
class Run:
    """One import under way: its inputs, the rows read, and the report being filled."""

    session: Session
    actor: User
    filename: str
    sheet: Sheet
    rep: ImportReport
    options: ImportOptions

    def option(self, name: str) -> bool:
        return bool(self.options.get(name, False))

    def stops(self, would_import: int) -> bool:
        """Whether the import ends here, before writing: a check (``dry_run``) says how many rows
        would go in; rejected rows (other than held possible duplicates) stop an all-or-nothing
        import."""
        dry_run = self.option("dry_run")
        if dry_run or (self.rep.blocking and not self.option("skip_invalid")):
            self.rep.imported = would_import if dry_run else 0
            return True
        return False

    def applied(
        self, entity: str, imported: int, *, updated: int | None = None, **more: Any
    ) -> ImportReport:
        """The import went in: the report says so, and one audit row records the file and the
        counts (and ``more``: the first and last firm ids)."""
        self.rep.imported, self.rep.applied = imported, True
        after: dict[str, Any] = {"file": self.filename[:200], "imported": imported}
        if updated is not None:
            after["updated"] = updated
        after["rejected"] = len(self.rep.rejected)
        record(self.session, self.actor.id, "import", entity, None, after={**after, **more})
        self.session.flush()
        return self.rep


@dataclass(frozen=True)
class Importer:
    """An import of one kind: ``headers`` the accepted headers, ``body`` the kind's own checks
    and writes; ``pause_gc`` runs it with the cyclic garbage collector paused (the bulk
    importers: see ``_without_cyclic_gc``)."""

    kind: str
    headers: dict[str, str]
    body: Callable[[Run], ImportReport]
    pause_gc: bool = True

    def __call__(
        self,
        session: Session,
        actor: User,
        data: bytes,
        filename: str,
        **options: Unpack[ImportOptions],
    ) -> ImportReport:
        run = _without_cyclic_gc(self._run) if self.pause_gc else self._run
        return run(session, actor, data, filename, options)

    def _run(
        self, session: Session, actor: User, data: bytes, filename: str, options: ImportOptions
    ) -> ImportReport:
        require_manager(actor)
        sheet = read_rows(data, filename, self.headers)
        rep = ImportReport(
            self.kind,
            len(sheet.rows),
            dry_run=bool(options.get("dry_run", False)),
            labels=sheet.labels,
            sheet=sheet,
        )
        return self.body(Run(session, actor, filename, sheet, rep, options))
