"""The checks of a PostgreSQL copy: its schema as the database prints it, the schema its
migration makes on the same server (after the same dump-and-restore trip), its sequences
against its rows, and the migration a ``pg_dump`` file is at, read from the file."""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from crm.backup.schema import Column, Schema, norm_sql
from crm.backup.tools import now_stamp, pg_args, pg_tool, run_tool
from crm.errors import ValidationFailed
from crm.i18n import _l
from crm.migrate import upgrade

PG_SCHEMA_QUERIES = {
    # (kind, name, the table it belongs to, what must be equal) — the public schema only, and
    # nothing an extension owns (pg_trgm's functions come with CREATE EXTENSION)
    "table": """
        select c.relname, c.relname, a.attname,
               array[a.attnotnull::text, format_type(a.atttypid, a.atttypmod),
                     coalesce(pg_get_expr(d.adbin, d.adrelid), '')]
        from pg_attribute a join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
        where n.nspname = 'public' and c.relkind in ('r', 'p') and a.attnum > 0
          and not a.attisdropped""",
    # primary keys, foreign keys, UNIQUE and CHECK constraints, by table (their names are
    # only unique within it)
    "constraint": """
        select c.relname || '.' || k.conname, c.relname, pg_get_constraintdef(k.oid), null
        from pg_constraint k join pg_class c on c.oid = k.conrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and k.contype in ('p', 'f', 'u', 'c', 'x')""",
    "index": """
        select i.indexname, i.tablename, i.indexdef, null from pg_indexes i
        where i.schemaname = 'public'""",
    "trigger": """
        select t.tgname, c.relname, pg_get_triggerdef(t.oid), null
        from pg_trigger t join pg_class c on c.oid = t.tgrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and not t.tgisinternal""",
    "view": """
        select v.viewname, v.viewname, v.definition, null from pg_views v
        where v.schemaname = 'public'""",
    "function": """
        select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
               p.proname, pg_get_functiondef(p.oid), null
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname = 'public' and p.prokind = 'f' and not exists (
            select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')""",
    # ATTACK9 P2-3: what else changes what a statement does to a table. A rule (``ON INSERT
    # TO audit_record DO INSTEAD NOTHING``: every login failed), by table (a view's own
    # ``_RETURN`` rule is its definition, compared above)
    "rule": """
        select c.relname || '.' || r.rulename, c.relname, pg_get_ruledef(r.oid), null
        from pg_rewrite r join pg_class c on c.oid = r.ev_class
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and r.rulename <> '_RETURN'""",
    # row-level security switched on (or forced) on a table, and its policies
    "row_security": """
        select c.relname, c.relname,
               'enabled=' || c.relrowsecurity || ' forced=' || c.relforcerowsecurity, null
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and (c.relrowsecurity or c.relforcerowsecurity)""",
    "policy": """
        select c.relname || '.' || p.polname, c.relname,
               concat_ws(' ', p.polcmd, p.polpermissive, p.polroles::text,
                         pg_get_expr(p.polqual, p.polrelid),
                         pg_get_expr(p.polwithcheck, p.polrelid)), null
        from pg_policy p join pg_class c on c.oid = p.polrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public'""",
    # a column's collation other than its type's (``collate "C"``: names sort and compare
    # otherwise)
    "collation": """
        select c.relname || '.' || a.attname, c.relname, co.collname, null
        from pg_attribute a join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        join pg_type t on t.oid = a.atttypid
        join pg_collation co on co.oid = a.attcollation
        where n.nspname = 'public' and c.relkind in ('r', 'p') and a.attnum > 0
          and not a.attisdropped and a.attcollation <> t.typcollation""",
    # a table made to inherit another (its rows then read through the parent), and event
    # triggers (database-wide: they run on any DDL, a migration's too)
    "inherits": """
        select c.relname || ' → ' || p.relname, c.relname, p.relname, null
        from pg_inherits i join pg_class c on c.oid = i.inhrelid
        join pg_class p on p.oid = i.inhparent
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind in ('r', 'p')""",
    "event_trigger": """
        select e.evtname, e.evtname,
               concat_ws(' ', e.evtevent, e.evtfoid::regproc::text, e.evtenabled), null
        from pg_event_trigger e""",
}


def pg_schema(conn: Any) -> Schema:
    """A PostgreSQL database's schema as it matters to the app (a psycopg connection): the
    public schema's tables (column → NOT NULL, type, default), constraints (primary and foreign
    keys, UNIQUE, CHECK), indexes, triggers, views and functions (their definitions as
    PostgreSQL prints them), the same shape ``sqlite_schema`` gives."""
    out: Schema = {}
    for kind, query in PG_SCHEMA_QUERIES.items():
        for name, table, what, flag in conn.execute(query):
            if kind == "table":
                notnull, type_, default = flag
                out.setdefault(("table", name), {})[what] = Column(
                    notnull == "true", norm_sql(type_), norm_sql(default)
                )
            else:
                out[(kind, name)] = (table, norm_sql(what))
    return out


@functools.lru_cache(maxsize=4)
def migrated_pg_schema(admin_url: str, revision: str) -> Schema:
    """The schema ``revision``'s migrations make on this PostgreSQL server, as a restore of its
    dump has it: a scratch database created, migrated to it, dumped and restored into a second
    one, read, both dropped (``admin_url`` reaches the server's ``postgres`` database; its
    driver is psycopg's own). The round trip matters: PostgreSQL prints some CHECK constraints
    differently once pg_dump's text of them has been parsed again (``IN (…)`` on a varchar
    column), and the backup compared with it has made that trip."""
    import psycopg
    from psycopg import sql

    u = make_url(admin_url)
    scratch = f"crm_schema_{os.getpid()}_{now_stamp()}"[:60]
    copy = f"{scratch}_r"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        try:
            for db in (scratch, copy):
                admin.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(db))
                )
            upgrade(
                u.set(drivername="postgresql+psycopg", database=scratch).render_as_string(
                    hide_password=False
                ),
                revision,
            )
            with tempfile.TemporaryDirectory(prefix="crm-schema-") as tmp:
                dump = Path(tmp) / "schema.dump"
                args, env = pg_args(admin_url, database=scratch)
                run_tool(
                    [pg_tool("pg_dump"), "--format=custom", "--no-owner", "-f", str(dump), *args],
                    env,
                    "pg_dump",
                )
                args, env = pg_args(admin_url, database=copy)
                run_tool(
                    [pg_tool("pg_restore"), "--no-owner", "--exit-on-error", *args, str(dump)],
                    env,
                    "pg_restore",
                )
            with psycopg.connect(u.set(database=copy).render_as_string(hide_password=False)) as c:
                return pg_schema(c)
        finally:
            for db in (scratch, copy):
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
                )


PG_SEQUENCES = """
    select s.relname, t.relname, a.attname
    from pg_class s join pg_namespace n on n.oid = s.relnamespace
    join pg_depend d on d.objid = s.oid and d.classid = 'pg_class'::regclass
     and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
    join pg_class t on t.oid = d.refobjid
    join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
    where s.relkind = 'S' and n.nspname = 'public'
    order by t.relname"""


def check_sequences(conn: Any) -> None:
    """Every column's sequence (a psycopg connection's) hands out a value above the largest one
    its table holds: a dump whose sequence was set back would have every new row of that table
    refused as a duplicate key."""
    from psycopg import sql

    for seq, table, column in conn.execute(PG_SEQUENCES).fetchall():
        last, called = conn.execute(
            sql.SQL("select last_value, is_called from {}").format(sql.Identifier(seq))
        ).fetchone()
        top = conn.execute(
            sql.SQL("select max({}) from {}").format(sql.Identifier(column), sql.Identifier(table))
        ).fetchone()[0]
        if top is not None and last + (1 if called else 0) <= top:
            raise ValidationFailed(
                _l(
                    "备份中序列 %(seq)s 落后于表 %(table)s（下一个编号 %(next)s，表中已有 %(top)s）：恢复后新记录会因编号重复而无法保存",  # noqa: E501
                    seq=seq,
                    table=table,
                    next=last + (1 if called else 0),
                    top=top,
                )
            )


def pgdump_revision(source: Path, env: dict[str, str]) -> str | None:
    """The migration a pg_dump file is at: the one row of its ``alembic_version`` table, read
    from the file (``pg_restore --data-only --table`` prints its COPY block) — no database."""
    cmd = [
        pg_tool("pg_restore"),
        "--data-only",
        "--table=alembic_version",
        "--file=-",
        str(source),
    ]
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ValidationFailed(
            _l("%(what)s 无法运行：%(error)s", what="pg_restore", error=str(exc)[:300])
        ) from exc
    rows: list[str] = []
    copying = False
    for line in proc.stdout.splitlines():
        if line.startswith("COPY ") and "alembic_version" in line:
            copying = True
        elif copying and line == "\\.":
            break
        elif copying:
            rows.append(line)
    if proc.returncode != 0 or not copying:
        raise ValidationFailed(_l("这不是CRM数据库（缺少表 %(tables)s）", tables="alembic_version"))
    return rows[0] if len(rows) == 1 else None
