"""An import run: the stored upload, its progress while a worker reads and imports it, and its
report afterwards (the import history)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, LargeBinary, Text, text
from sqlmodel import Field, SQLModel

from crm.types import UTCDateTime, utcnow

RUN_STATUSES = ("queued", "running", "done", "refused", "failed")


class ImportRun(SQLModel, table=True):
    """One uploaded file and what became of it.

    ``status``: queued → running → done (the report says what went in: everything, nothing, or
    the valid rows) | refused (the file itself was refused: nothing read) | failed (the server
    stopped or erred during the import: nothing of it was saved, ``data`` is kept so it can be
    run again). At most one run is ``running`` at a time (a unique partial index): the office's
    imports form one queue. The run's final status and report are written in the import's own
    transaction, so a run is never ``done`` without its rows, nor its rows in without ``done``.
    """

    __tablename__ = "import_run"
    __table_args__ = (
        CheckConstraint(
            "status in ('queued','running','done','refused','failed')", name="ck_import_run_status"
        ),
        CheckConstraint("mode in ('check','all','skip')", name="ck_import_run_mode"),
        Index(
            "uq_import_run_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
        Index("ix_import_run_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    kind: str = Field(max_length=20)  # firms | contacts | projects
    filename: str = Field(max_length=200)
    size: int = 0
    mode: str = Field(default="check", max_length=10)  # check | all | skip
    update_matching: bool = False
    status: str = Field(default="queued", max_length=10)
    phase: str | None = Field(default=None, max_length=20)  # reading | checking | importing
    done_rows: int = 0  # rows of the current phase so far
    total: int | None = None  # data rows in the file, once read
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rejected rows
    applied: bool = False
    report: str | None = Field(default=None, sa_type=Text)  # JSON, see crm.imports.runs
    error: str | None = Field(default=None, sa_type=Text)  # JSON message
    data: bytes | None = Field(default=None, sa_type=LargeBinary)
    # firms: the spreadsheet rows to import although they may duplicate a firm (JSON list)
    confirmed: str | None = Field(default=None, sa_type=Text)
    worker: str | None = Field(default=None, max_length=120)  # host:pid running it
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
