"""Backups that restore, and restores that refuse to destroy.

One thing per module, in the order they import each other:

- ``tools``: the PostgreSQL client tools (``pg_dump``, ``pg_restore``) and a file's ``.sha256``;
- ``revisions``: the migrations this code knows, and the refusal of a copy at another one;
- ``schema``: a schema in one shape for both databases, and what differs from its migration's;
- ``sqlite`` / ``postgres``: each database's checks (integrity, schema, foreign keys;
  schema, sequences, a dump's migration);
- ``take``: ``backup`` (written whole or not at all) and the nightly job with its retention;
- ``check``: ``verify``, which refuses what cannot be restored, touching no database;
- ``swap``: ``restore``, into a new file or database, checked there, then swapped in, the
  replaced one kept.

The names below are the package's interface (the CLI, the jobs, ``crm.backup_status``)."""

from crm.backup.check import Checked, verify
from crm.backup.postgres import migrated_pg_schema, pg_schema
from crm.backup.revisions import head_revision, known_revisions
from crm.backup.schema import Column, Schema, schema_differences
from crm.backup.sqlite import migrated_schema, sqlite_schema
from crm.backup.swap import restore
from crm.backup.take import NightlyDone, backup, nightly
from crm.backup.tools import checksum_file

__all__ = [
    "Checked",
    "Column",
    "NightlyDone",
    "Schema",
    "backup",
    "checksum_file",
    "head_revision",
    "known_revisions",
    "migrated_pg_schema",
    "migrated_schema",
    "nightly",
    "pg_schema",
    "restore",
    "schema_differences",
    "sqlite_schema",
    "verify",
]
