"""cache_version: one number per per-process cache, changed by triggers whenever its rows change

The web processes keep three small lists between requests: the users of the pickers
(``crm.accounts.users.user_choices``), the plan's lists (``crm.policy.service.plan_lists``)
and the firms' countries for the firm list's filter (``crm.firms.views.countries``). Each
request asked the database whether its list was still current: an aggregate over the 500
users, twelve counts and sums over the plan's tables, and the countries recomputed from the
firms (a recursive skip scan) — three statements on a firm-list page. Now a trigger on each
table behind a list sets that list's number in ``cache_version`` to a new random value in the
same transaction as the change, whatever makes it (a service, an import, a merge, raw SQL,
another process), and a request reads the three numbers with its signed-in session
(``crm.accounts.sessions``), in the statement it runs anyway.

What changes a list's number:
- ``users``: a user added or removed, or a change of a column the pickers show (display name,
  department, active, role) — not a login's stamps;
- ``plan``: any change of the policy pack, clusters, parks, chain links or departments;
- ``countries``: a firm added with a country no other firm has, a firm removed, or a firm's
  country changed.

Random, never counted up: a number once seen is never seen again with other rows behind it —
not after a transaction that changed the rows and read them is rolled back (a counter would
reach the same number again with other rows), and not in a database dropped and made again
under the same URL (the processes key their lists by the database's URL and the number).

PostgreSQL: one function bumps a number (its argument names which); inserts and deletions of
the plan's and the users' tables bump once per statement; a new firm's country is checked
before its row is written (a BEFORE trigger sees the statement's earlier rows, so a statement
that adds two firms of a new country bumps once, where an AFTER trigger would see both and
bump for neither).

Revision ID: 0026_cache_version
Revises: 0025_report_stamp
Create Date: 2026-12-02 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_cache_version"
down_revision: str | None = "0025_report_stamp"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMES = ("countries", "plan", "users")
PLAN_TABLES = ("policy_pack", "cluster", "park", "chain_link", "department")
USER_COLUMNS = ("display_name", "department_id", "is_active", "role")

SQLITE_NEW = "random()"
PG_NEW = "floor(random() * 9007199254740991)::bigint"


def _sqlite_bump(name: str) -> str:
    return f"UPDATE cache_version SET n = {SQLITE_NEW} WHERE name = '{name}';"


def _sqlite_triggers() -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER …) of every SQLite trigger."""
    out: list[tuple[str, str]] = []
    for t in PLAN_TABLES:
        for suffix, event in (("ai", "INSERT"), ("ad", "DELETE"), ("au", "UPDATE")):
            name = f"cache_plan_{t}_{suffix}"
            out.append(
                (name, f"CREATE TRIGGER {name} AFTER {event} ON {t} BEGIN {_sqlite_bump('plan')} END")
            )
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in USER_COLUMNS)
    out += [
        (
            "cache_users_ai",
            "CREATE TRIGGER cache_users_ai AFTER INSERT ON user_account "
            f"BEGIN {_sqlite_bump('users')} END",
        ),
        (
            "cache_users_ad",
            "CREATE TRIGGER cache_users_ad AFTER DELETE ON user_account "
            f"BEGIN {_sqlite_bump('users')} END",
        ),
        (
            "cache_users_au",
            f"CREATE TRIGGER cache_users_au AFTER UPDATE OF {', '.join(USER_COLUMNS)} "
            f"ON user_account WHEN {changed} BEGIN {_sqlite_bump('users')} END",
        ),
        (
            "cache_countries_ai",
            "CREATE TRIGGER cache_countries_ai AFTER INSERT ON firm WHEN new.country IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM firm f WHERE f.country = new.country "
            f"AND f.id <> new.id) BEGIN {_sqlite_bump('countries')} END",
        ),
        (
            "cache_countries_ad",
            "CREATE TRIGGER cache_countries_ad AFTER DELETE ON firm "
            f"BEGIN {_sqlite_bump('countries')} END",
        ),
        (
            "cache_countries_au",
            "CREATE TRIGGER cache_countries_au AFTER UPDATE OF country ON firm "
            f"WHEN old.country IS NOT new.country BEGIN {_sqlite_bump('countries')} END",
        ),
    ]
    return out


PG_FUNCTIONS = [
    "CREATE FUNCTION crm_cache_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"UPDATE cache_version SET n = {PG_NEW} WHERE name = TG_ARGV[0]; RETURN NULL; END $$",
    # before the row is written: the statement's earlier rows are seen, this one is not
    "CREATE FUNCTION crm_cache_new_country() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "IF NEW.country IS NOT NULL AND NOT EXISTS (SELECT 1 FROM firm WHERE country = NEW.country) "
    f"THEN UPDATE cache_version SET n = {PG_NEW} WHERE name = 'countries'; END IF; "
    "RETURN NEW; END $$",
]


def _pg_triggers() -> list[tuple[str, str, str]]:
    """(name, table, CREATE TRIGGER …) of every PostgreSQL trigger."""
    out: list[tuple[str, str, str]] = []
    for t in PLAN_TABLES:
        name = f"cache_plan_{t}"
        out.append(
            (
                name,
                t,
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t} "
                "FOR EACH STATEMENT EXECUTE FUNCTION crm_cache_bump('plan')",
            )
        )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in USER_COLUMNS)
    out += [
        (
            "cache_users_aid",
            "user_account",
            "CREATE TRIGGER cache_users_aid AFTER INSERT OR DELETE OR TRUNCATE ON user_account "
            "FOR EACH STATEMENT EXECUTE FUNCTION crm_cache_bump('users')",
        ),
        (
            "cache_users_au",
            "user_account",
            f"CREATE TRIGGER cache_users_au AFTER UPDATE OF {', '.join(USER_COLUMNS)} "
            f"ON user_account FOR EACH ROW WHEN ({changed}) "
            "EXECUTE FUNCTION crm_cache_bump('users')",
        ),
        (
            "cache_countries_bi",
            "firm",
            "CREATE TRIGGER cache_countries_bi BEFORE INSERT ON firm "
            "FOR EACH ROW EXECUTE FUNCTION crm_cache_new_country()",
        ),
        (
            "cache_countries_ad",
            "firm",
            "CREATE TRIGGER cache_countries_ad AFTER DELETE OR TRUNCATE ON firm "
            "FOR EACH STATEMENT EXECUTE FUNCTION crm_cache_bump('countries')",
        ),
        (
            "cache_countries_au",
            "firm",
            "CREATE TRIGGER cache_countries_au AFTER UPDATE OF country ON firm FOR EACH ROW "
            "WHEN (OLD.country IS DISTINCT FROM NEW.country) "
            "EXECUTE FUNCTION crm_cache_bump('countries')",
        ),
    ]
    return out


def upgrade() -> None:
    op.create_table(
        "cache_version",
        sa.Column("name", sa.String(length=20), primary_key=True),
        sa.Column("n", sa.BigInteger(), nullable=False),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    new = SQLITE_NEW if sqlite else PG_NEW
    for name in NAMES:
        op.execute(f"INSERT INTO cache_version (name, n) VALUES ('{name}', {new})")
    if sqlite:
        for _, sql in _sqlite_triggers():
            op.execute(sql)
    else:
        for sql in PG_FUNCTIONS:
            op.execute(sql)
        for _, _, sql in _pg_triggers():
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, _ in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name, t, _ in _pg_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {t}")
        op.execute("DROP FUNCTION IF EXISTS crm_cache_new_country()")
        op.execute("DROP FUNCTION IF EXISTS crm_cache_bump()")
    op.drop_table("cache_version")
