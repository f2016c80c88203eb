"""the header search's contacts and projects from an index, as the firms already are

The header search (crm.search) finds contacts by a substring of their name, title, phone or
e-mail and projects by a substring of their searchable name (a confidential project's code name,
another's title). Each read every row: 100,000 contacts and 20,000 projects at city scale, about
100 ms a search on SQLite. Now:

SQLite: ``contact_fts`` and ``project_fts``, contentless FTS5 trigram tables kept by triggers,
each value followed by two spaces so that every occurrence of a one- or two-character query
begins one of the value's trigrams (the vocabulary tables ``*_fts_vocab`` then list the
trigrams a short query begins). Their rows only narrow the search: the service still tests
each candidate with the same LIKE as before, so what is found does not change.
PostgreSQL: the same text (lower-cased; a contact's fields joined by a line break) indexed by
pg_trgm for three or more characters, and its characters and character pairs kept in a
generated column ``search_grams`` with a GIN index for one or two (as the firm's, 0014).
Both: an index in the contacts' display order (the name's length, then the name), so a query
that matches most contacts reads them in order and stops at the page (on SQLite it covers the
fields searched).

The full-text tables and the ``_trgm`` / ``_grams`` / ``_expr`` indexes are managed here only
(excluded from autogenerate, crm.migrations.env).

Revision ID: 0022_contact_project_search
Revises: 0021_firm_tier_name_order
Create Date: 2026-12-01 22:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_contact_project_search"
down_revision: str | None = "0021_firm_tier_name_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTACT_FIELDS = ("name", "title", "phone", "email")
# a project's searchable name: the code name of a confidential project, else the title
PROJECT_LABEL = "CASE WHEN {r}is_confidential THEN {r}code_name ELSE {r}title END"


def _pad(expr: str) -> str:
    return f"coalesce({expr}, '') || '  '"


def _contact_values(r: str) -> str:
    return ", ".join(_pad(f"{r}{f}") for f in CONTACT_FIELDS)


def _project_value(r: str) -> str:
    return _pad(PROJECT_LABEL.format(r=r))


SQLITE_UP = [
    "CREATE VIRTUAL TABLE contact_fts USING fts5(name, title, phone, email, content='', "
    "tokenize='trigram')",
    "CREATE VIRTUAL TABLE contact_fts_vocab USING fts5vocab(contact_fts, 'row')",
    "CREATE TRIGGER contact_fts_ai AFTER INSERT ON contact BEGIN "
    "INSERT INTO contact_fts(rowid, name, title, phone, email) "
    f"VALUES (new.id, {_contact_values('new.')}); END",
    "CREATE TRIGGER contact_fts_ad AFTER DELETE ON contact BEGIN "
    "INSERT INTO contact_fts(contact_fts, rowid, name, title, phone, email) "
    f"VALUES ('delete', old.id, {_contact_values('old.')}); END",
    "CREATE TRIGGER contact_fts_au AFTER UPDATE OF name, title, phone, email ON contact BEGIN "
    "INSERT INTO contact_fts(contact_fts, rowid, name, title, phone, email) "
    f"VALUES ('delete', old.id, {_contact_values('old.')}); "
    "INSERT INTO contact_fts(rowid, name, title, phone, email) "
    f"VALUES (new.id, {_contact_values('new.')}); END",
    "INSERT INTO contact_fts(rowid, name, title, phone, email) "
    f"SELECT id, {_contact_values('')} FROM contact",
    "INSERT INTO contact_fts(contact_fts) VALUES ('optimize')",  # one segment, as firm_fts
    "CREATE VIRTUAL TABLE project_fts USING fts5(label, content='', tokenize='trigram')",
    "CREATE VIRTUAL TABLE project_fts_vocab USING fts5vocab(project_fts, 'row')",
    "CREATE TRIGGER project_fts_ai AFTER INSERT ON project BEGIN "
    f"INSERT INTO project_fts(rowid, label) VALUES (new.id, {_project_value('new.')}); END",
    "CREATE TRIGGER project_fts_ad AFTER DELETE ON project BEGIN "
    "INSERT INTO project_fts(project_fts, rowid, label) "
    f"VALUES ('delete', old.id, {_project_value('old.')}); END",
    "CREATE TRIGGER project_fts_au AFTER UPDATE OF title, code_name, is_confidential ON project "
    "BEGIN INSERT INTO project_fts(project_fts, rowid, label) "
    f"VALUES ('delete', old.id, {_project_value('old.')}); "
    f"INSERT INTO project_fts(rowid, label) VALUES (new.id, {_project_value('new.')}); END",
    f"INSERT INTO project_fts(rowid, label) SELECT id, {_project_value('')} FROM project",
    "INSERT INTO project_fts(project_fts) VALUES ('optimize')",
    # covering what the search reads and tests: a query that must read every contact (one
    # character with case, "ü") reads this index alone, as fast as the table
    "CREATE INDEX ix_contact_name_expr ON contact (length(name), name, title, phone, email, "
    "firm_id)",
]
SQLITE_DOWN = [
    "DROP INDEX IF EXISTS ix_contact_name_expr",
    "DROP TRIGGER IF EXISTS project_fts_au",
    "DROP TRIGGER IF EXISTS project_fts_ad",
    "DROP TRIGGER IF EXISTS project_fts_ai",
    "DROP TABLE IF EXISTS project_fts_vocab",
    "DROP TABLE IF EXISTS project_fts",
    "DROP TRIGGER IF EXISTS contact_fts_au",
    "DROP TRIGGER IF EXISTS contact_fts_ad",
    "DROP TRIGGER IF EXISTS contact_fts_ai",
    "DROP TABLE IF EXISTS contact_fts_vocab",
    "DROP TABLE IF EXISTS contact_fts",
]

# the texts PostgreSQL indexes (crm.search writes the same expressions)
CONTACT_TEXT = " || chr(10) || ".join(f"lower(coalesce({f}, ''))" for f in CONTACT_FIELDS)
PROJECT_TEXT = f"lower(coalesce({PROJECT_LABEL.format(r='')}, ''))"

PG_UP = [
    f"ALTER TABLE contact ADD COLUMN IF NOT EXISTS search_grams text[] "
    f"GENERATED ALWAYS AS (crm_search_grams({CONTACT_TEXT})) STORED",
    "CREATE INDEX ix_contact_search_grams ON contact USING gin (search_grams)",
    f"CREATE INDEX ix_contact_search_trgm ON contact USING gin (({CONTACT_TEXT}) gin_trgm_ops)",
    "CREATE INDEX ix_contact_name_expr ON contact (length(name), name, id)",
    f"ALTER TABLE project ADD COLUMN IF NOT EXISTS search_grams text[] "
    f"GENERATED ALWAYS AS (crm_search_grams({PROJECT_TEXT})) STORED",
    "CREATE INDEX ix_project_search_grams ON project USING gin (search_grams)",
    f"CREATE INDEX ix_project_search_trgm ON project USING gin (({PROJECT_TEXT}) gin_trgm_ops)",
    "ANALYZE contact",
    "ANALYZE project",
]
PG_DOWN = [
    "DROP INDEX IF EXISTS ix_project_search_trgm",
    "DROP INDEX IF EXISTS ix_project_search_grams",
    "ALTER TABLE project DROP COLUMN IF EXISTS search_grams",
    "DROP INDEX IF EXISTS ix_contact_name_expr",
    "DROP INDEX IF EXISTS ix_contact_search_trgm",
    "DROP INDEX IF EXISTS ix_contact_search_grams",
    "ALTER TABLE contact DROP COLUMN IF EXISTS search_grams",
]


def _run(statements: list[str]) -> None:
    for sql in statements:
        op.execute(sql)


def upgrade() -> None:
    _run(SQLITE_UP if op.get_bind().dialect.name == "sqlite" else PG_UP)


def downgrade() -> None:
    _run(SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else PG_DOWN)
