"""The raw-SQL floor: the rows a page needs, queried straight through the DBAPI."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import make_url

from bench.scenarios import (
    FLOORS,
    OFFICER_PROJECT_VISIBLE,
)

# the texts PostgreSQL's header-search indexes are over (migration 0022)
_PG_TEXT = {
    "contact": " || chr(10) || ".join(
        f"lower(coalesce(contact.{f}, ''))" for f in ("name", "title", "phone", "email")
    ),
    "project": "lower(coalesce(CASE WHEN project.is_confidential THEN project.code_name "
    "ELSE project.title END, ''))",
}


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _quote(text: str) -> str:
    """A string constant in SQL."""
    return "'" + text.replace("'", "''") + "'"


def _inline(cond: str, params: dict[str, Any]) -> str:
    """``cond`` with its parameters written in as constants (strings only)."""
    for k, v in params.items():
        cond = cond.replace(f":{k}", _quote(str(v)))
    return cond


# --- the raw-SQL floor ---


class Floor:
    """Floor SQL straight through the DBAPI (sqlite3 / psycopg), the pragmas of the app."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = make_url(url).get_backend_name() == "sqlite"
        self.conn: Any = self._connect()
        self.has_fts = self._has_table("firm_fts")
        self.has_trgm = not self.sqlite and self._has_trgm()
        self.has_grams = not self.sqlite and self._has_index("ix_firm_search_grams")
        # the header search's indexes (migration 0022)
        self.has_header_index = (
            self._has_table("contact_fts")
            if self.sqlite
            else self._has_index("ix_contact_search_grams")
        )

    def _connect(self) -> Any:
        u = make_url(self.url)
        if self.sqlite:
            conn = sqlite3.connect(u.database, check_same_thread=False)
            for pragma in (
                "journal_mode=WAL",
                "busy_timeout=10000",
                "foreign_keys=ON",
                "synchronous=NORMAL",
                "cache_size=-65536",
                "temp_store=MEMORY",
            ):
                conn.execute(f"PRAGMA {pragma}")
            return conn
        import psycopg

        return psycopg.connect(
            u.set(drivername="postgresql").render_as_string(hide_password=False),
            autocommit=True,
        )

    @contextlib.contextmanager
    def released(self) -> Iterator[None]:
        """Without the connection for a while (PostgreSQL copies a database as a template
        only while no session is on it)."""
        self.conn.close()
        try:
            yield
        finally:
            self.conn = self._connect()

    def _has_table(self, name: str) -> bool:
        if self.sqlite:
            return (
                self.conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()
                is not None
            )
        return self.conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None

    def _has_index(self, name: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", (name,)).fetchone()
            is not None
        )

    def _has_trgm(self) -> bool:
        return (
            self.conn.execute(
                "SELECT 1 FROM pg_indexes"
                " WHERE tablename = 'firm' AND indexdef ILIKE '%%gin_trgm%%'"
            ).fetchone()
            is not None
        )

    def _sql(self, sql: str) -> str:
        if self.sqlite:
            return sql
        return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))

    def _params(self, sql: str, params: dict[str, Any]) -> dict[str, Any]:
        used = set(re.findall(r"(?<![:\w]):(\w+)", sql))
        out = {}
        for k in used:
            v = params[k]
            if self.sqlite and isinstance(v, dt.datetime):  # stored naive UTC text
                v = v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
            out[k] = v
        return out

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        cur = self.conn.execute(self._sql(sql), self._params(sql, params or {}))
        return cur.fetchall()

    def search_sql(self, q: str) -> tuple[str, dict[str, Any]]:
        """The best query the database offers for a firm search, like the service's."""
        from crm.text import fold_query

        folded = fold_query(q)
        like = "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        base = "SELECT f.id, f.name_zh, f.name_en, f.tier FROM firm f WHERE {cond} LIMIT 200"
        if self.sqlite and self.has_fts and len(folded) >= 3:
            phrase = '"' + folded.replace('"', '""') + '"'
            return (
                base.format(
                    cond="f.id IN (SELECT rowid FROM firm_fts WHERE firm_fts MATCH :match)"
                ),
                {"match": phrase},
            )
        if self.sqlite and self.has_fts and len(folded) == 2:
            # the trigrams that begin with the two characters, from the index's vocabulary
            terms = [
                t
                for (t,) in self.conn.execute(
                    "SELECT term FROM firm_fts_vocab WHERE term >= ? AND term < ? || char(1114111)",
                    (folded, folded),
                )
            ]
            match = (
                " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
                or '"' + folded.replace('"', '""') + '"'
            )
            return (
                base.format(
                    cond="f.id IN (SELECT rowid FROM firm_fts WHERE firm_fts MATCH :match)"
                ),
                {"match": match},
            )
        if not self.sqlite and self.has_grams and len(folded) <= 2:
            # one of the text's characters or pairs, from the GIN index over them
            return (
                base.format(cond="f.search_grams @> ARRAY[CAST(:gram AS TEXT)]"),
                {"gram": folded},
            )
        return (base.format(cond="f.search_text LIKE :like ESCAPE '\\'"), {"like": like})

    def _narrowed(self, kind: str, q: str) -> str | None:
        """The header search's index condition for ``kind`` (contact / project) as the service
        chooses it (crm.search): the candidates when few, None to read the rows in order, ""
        when none can match. Its look-ups are part of the floor."""
        few = {"contact": 1000, "project": 500}[kind]
        if not self.has_header_index:
            return None
        fts = f"{kind}_fts"
        if not self.sqlite:
            if len(q) <= 2:
                cond, p = f"{kind}.search_grams @> ARRAY[CAST(:gram AS TEXT)]", {"gram": q}
            else:
                cond, p = f"{_PG_TEXT[kind]} LIKE :like ESCAPE '\\'", {"like": _like(q)}
            sql = f"SELECT count(*) FROM (SELECT 1 FROM {kind} WHERE {cond} LIMIT {few + 1}) t"
            n = self.query(sql, p)[0][0]
            if n > few:
                return None
            return _inline(cond, p) if n else ""
        if len(q) >= 3:
            match = '"' + q.replace('"', '""') + '"'
            n = self.query(
                f"SELECT count(*) FROM (SELECT rowid FROM {fts} WHERE {fts} MATCH :m "
                f"LIMIT {few + 1})",
                {"m": match},
            )[0][0]
            if n > few:
                return None
            if not n:
                return ""
        else:
            terms = self.query(
                f"SELECT term, doc FROM {fts}_vocab WHERE term >= :p "
                "AND term < :p || char(1114111) LIMIT 65",
                {"p": q},
            )
            if not terms:
                return ""
            if len(terms) > 64 or sum(d for _, d in terms) > few:
                return None
            match = " OR ".join('"' + t.replace('"', '""') + '"' for t, _ in terms)
        return f"{kind}.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH {_quote(match)})"

    def header(self, kind: str, q: str, params: dict[str, Any]) -> None:
        """The header search's page of contacts or projects (20), as the service reads it."""
        q = q.strip().lower()
        narrow = self._narrowed(kind, q)
        if narrow == "":
            return
        p = {**params, "like": _like(q)}
        if kind == "contact":
            cond = " OR ".join(
                f"lower(contact.{f}) LIKE :like ESCAPE '\\'"
                for f in ("name", "title", "phone", "email")
            )
            sql = f"""SELECT c.id, c.name, c.title, c.firm_id, f.name_zh FROM (
                SELECT contact.id, contact.name, contact.title, contact.firm_id FROM contact
                WHERE ({cond}) {"AND " + narrow if narrow else ""}
                ORDER BY length(contact.name), contact.name, contact.id LIMIT 20) c
                JOIN firm f ON f.id = c.firm_id ORDER BY length(c.name), c.name, c.id"""
        else:
            cond = (
                "(NOT project.is_confidential AND lower(project.title) LIKE :like ESCAPE '\\') "
                "OR (project.is_confidential AND lower(project.code_name) LIKE :like ESCAPE '\\')"
            )
            visible = OFFICER_PROJECT_VISIBLE.replace("p.", "project.")
            sql = f"""SELECT p.id, p.title, p.code_name, p.is_confidential, p.stage, cl.code,
                f.name_zh FROM (SELECT project.id, project.title, project.code_name,
                  project.is_confidential, project.stage, project.cluster_id, project.firm_id,
                  project.updated_at FROM project
                WHERE {visible} AND ({cond}) {"AND " + narrow if narrow else ""}
                ORDER BY project.updated_at DESC, project.id DESC LIMIT 20) p
                JOIN firm f ON f.id = p.firm_id JOIN cluster cl ON cl.id = p.cluster_id
                ORDER BY p.updated_at DESC, p.id DESC"""
        self.query(sql, p)

    def run(self, keys: tuple[str, ...], params: dict[str, Any]) -> None:
        for key in keys:
            sql = FLOORS[key]
            if sql == "@search":
                sql, extra = self.search_sql(params["q"])
                params = {**params, **extra}
            elif sql.startswith("@header_"):
                self.header(sql.removeprefix("@header_").removesuffix("s"), params["q"], params)
                continue
            self.query(sql, params)

    def close(self) -> None:
        self.conn.close()
