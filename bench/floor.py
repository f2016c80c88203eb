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
)

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

    def run(self, keys: tuple[str, ...], params: dict[str, Any]) -> None:
        for key in keys:
            sql = FLOORS[key]
            if sql == "@search":
                sql, extra = self.search_sql(params["q"])
                params = {**params, **extra}
            self.query(sql, params)

    def close(self) -> None:
        self.conn.close()
