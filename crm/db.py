"""Engine and sessions. SQLite runs in WAL mode with a busy timeout and foreign keys on."""

from __future__ import annotations

import logging
import re
import select as io_select
import sqlite3
import time
import weakref
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import BigInteger, Integer, String, Table, column, event, func, select, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import table as sa_table
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy
from sqlalchemy.exc import DBAPIError, IntegrityError, InvalidatePoolError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import configure_mappers, make_transient_to_detached
from sqlalchemy.sql.elements import BindParameter, TextClause
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, SQLModel, create_engine

from crm.config import get_settings
from crm.errors import NotFound
from crm.i18n import Message

log = logging.getLogger(__name__)
_T = TypeVar("_T")

# how long a SQLite write waits for another connection's write lock before giving up
BUSY_TIMEOUT_MS = 10000
# how long a best-effort write (``write_or_skip``) waits before it is skipped
BEST_EFFORT_WAIT_MS = 50
# SQLite's page cache per connection, in KiB; the import worker process takes less
# (crm.imports.worker: its memory stays within SPEC's 512 MB)
SQLITE_CACHE_KIB = 65536


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA cache_size=-{int(SQLITE_CACHE_KIB)}")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()
    # SQLite's lower() changes ASCII letters only: the searches of a text with other capitals
    # (Ä, Ö, É) lower it with Python's, as PostgreSQL's lower() does (``lowered``)
    dbapi_conn.create_function("crm_lower", 1, _unicode_lower, deterministic=True)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class _UnicodeLower(FunctionElement[str]):
    """lower(x) for every letter: PostgreSQL's lower(), SQLite's ``crm_lower`` (Python's)."""

    type = String()
    name = "lower"
    inherit_cache = True


@compiles(_UnicodeLower)
def _unicode_lower_default(element: Any, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_UnicodeLower, "sqlite")
def _unicode_lower_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"crm_lower({compiler.process(element.clauses, **kw)})"


def lowered(col: Any, q: str | None) -> Any:
    """``col`` lower-cased for a case-blind search of ``q`` (itself lower-cased in Python):
    SQLite's own lower() (fast, ASCII letters only) unless ``q`` holds another letter that has
    a case (Ä, É, Σ) — then Python's, on every row tested, so "Äpfel" finds "Äpfel" and
    "äpfel" alike on both databases."""
    if cased_beyond_ascii(q):
        return _UnicodeLower(col)
    return func.lower(col)


def cased_beyond_ascii(q: str | None) -> bool:
    """Whether ``q`` holds a letter with a case beyond ASCII (Ä, É, Σ): ``lowered`` then
    lower-cases the rows in Python (a statement of another shape)."""
    return bool(q) and any(not c.isascii() and c.lower() != c.upper() for c in q)  # type: ignore[union-attr]


def _utc_session(u: URL) -> dict[str, Any]:
    """A libpq connection's session in UTC (``TimeZone``, in its startup message: no statement),
    whatever the server's default zone: the driver then gives each timestamp as a ``datetime``
    in ``datetime.UTC`` itself, which ``crm.types.UTCDateTime`` keeps as it is — in a named zone
    (the server's "Etc/UTC") each value was converted twice, 0.6 µs a value, a tenth of a
    millisecond on a project page. The app's SQL never depends on the session's zone (local
    days and weeks are computed in Python, ``crm.clock``). Options in the URL are kept."""
    if u.get_driver_name() not in ("psycopg", "psycopg2"):
        return {}
    given = u.query.get("options")
    options = " ".join(given) if isinstance(given, tuple) else (given or "")
    return {"connect_args": {"options": f"{options} -c TimeZone=UTC".strip()}}


def make_engine(url: str) -> Engine:
    """Build an engine for ``url``; SQLite files get their folder and pragmas."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        # a checkout never waits (no overflow limit): the web process reads the signed-in
        # session on its event loop (server.deps.signed_in), and the connections it would wait
        # for are given back on that loop. A connection is a file handle; the worker threads
        # bound how many are open at once.
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 10},
            pool_size=16,
            max_overflow=-1,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    args = _utc_session(u)
    if not hasattr(io_select, "poll"):  # no poll(2): the pool's own ping, a round trip
        return _plans_for_values(
            create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **args)
        )
    engine = _plans_for_values(create_engine(url, pool_size=10, max_overflow=20, **args))
    dialect = engine.dialect

    def alive_or_renewed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        """A pooled connection checked before use without a round trip: the idle socket of a
        live connection has nothing to read, while one the server closed (a restart, a
        terminated backend, an idle timeout) holds its last message or end-of-file. Only then
        is it pinged, as ``pool_pre_ping`` pinged every checkout (a round trip per request);
        a failed ping renews it and every connection pooled before it (a restarted server)."""
        if not _has_input(dbapi_conn):
            return
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise InvalidatePoolError(f"the server closed the connection: {exc!r}") from exc

    event.listen(engine, "checkout", alive_or_renewed)
    return engine


# PostgreSQL's plans. psycopg prepares a statement on the server once a connection has run
# it five times (its prepare_threshold); the server then plans it for its parameters five
# times more and from there on keeps one generic plan, made without the values, only if its
# estimate is no worse than theirs — for the statements behind every page (a viewer's
# visibility conditions, three to six joins) it seldom is, and each run is planned again:
# 1–2.5 ms of the server's time for My day's follow-ups, the board, a firm's contacts, more
# than running them. Three kinds of statement, then:
# - marked ``plan_once``: a plan that fits every value (look-ups by id, a viewer's own rows,
#   the page lists built once per kind of viewer): prepared at once and planned once per
#   connection (plan_cache_mode force_generic_plan while it runs).
# - marked ``plan_per_value`` (or ``planned_per_value`` by the compiler of such a condition):
#   a searched text or character decides the plan — "惠普" is in 1 firm and "h" in 44,800,
#   so the plan of one (a look-up in the index, then a sort) is wrong for the other (the
#   header search's firms for "h": 59 ms after a generic plan made while "惠普" was searched,
#   0.6 with its own). Never prepared, and sent with its values written in (by psycopg, as
#   its client-side cursor binds them): planned for them every time, in either mode.
# - any other: as PostgreSQL chooses (plan_cache_mode auto).
# And LIMIT and OFFSET: without their values the planner assumes a tenth of the rows is
# wanted, and a generic plan of the pipeline table sorted all 19,000 visible projects (64 ms,
# against 0.6 with its own plan). Their values are written into the statement instead
# (``_literal_limits``): each limit has its statement, planned for it.
PLAN_PER_VALUE = "crm_plan_per_value"
PLAN_ONCE = "crm_plan_once"


def plan_per_value(stmt: _T) -> _T:
    """``stmt`` planned for its values on every run (PostgreSQL: never prepared), for a
    statement whose best plan depends on a value — a searched text, a character. Other
    databases: ``stmt`` as it runs anyway."""
    return cast(_T, stmt.execution_options(**{PLAN_PER_VALUE: True}))  # type: ignore[attr-defined]


def plan_once(stmt: _T) -> _T:
    """``stmt`` planned once per connection (PostgreSQL: prepared at once, a generic plan),
    for a statement whose plan fits every value it is given — a look-up by id, the viewer's
    own rows — and which pages run on every request. Other databases: ``stmt`` as it runs
    anyway (SQLite plans each statement once per connection already)."""
    return cast(_T, stmt.execution_options(**{PLAN_ONCE: True}))  # type: ignore[attr-defined]


# ``plan_once`` for ``Session.get`` (``execution_options=``): a look-up by primary key
PLANNED_ONCE = {PLAN_ONCE: True}


def planned_per_value(compiler: Any) -> None:
    """For a condition's compiler function: the statement being compiled, whatever holds the
    condition, is planned for its values on every run (``plan_per_value``)."""
    setattr(compiler, PLAN_PER_VALUE, True)


def _literal_limit(clause: Any) -> Any:
    """A LIMIT or OFFSET parameter written into the statement when it runs (a number)."""
    if not isinstance(clause, BindParameter) or clause.expanding:
        return clause
    out = clause.render_literal_execute()
    if out.type._isnull:  # a bindparam("limit") given no type: an integer all the same
        out.type = Integer()
    return out


@lru_cache
def _literal_limits(base: Any) -> type:
    """``base`` (the dialect's statement compiler) writing LIMIT and OFFSET values into the
    statement (as SQLAlchemy's own compilers do where a driver cannot bind them)."""

    class LiteralLimits(base):  # type: ignore[misc]
        def limit_clause(self, select: Any, **kw: Any) -> str:
            limit = select._limit_clause
            offset = select._offset_clause
            out = ""
            if limit is not None:
                out += " \n LIMIT " + self.process(_literal_limit(limit), **kw)
            if offset is not None:
                if limit is None:
                    out += "\n LIMIT ALL"
                out += " OFFSET " + self.process(_literal_limit(offset), **kw)
            return out

    return LiteralLimits


# each PostgreSQL connection's plan_cache_mode as last set (the server's default, auto, until
# then); forgotten when a transaction it may have been set in is rolled back (a SET is undone
# with the transaction), so the next statement sets it again
_GENERIC, _AUTO, _UNKNOWN = "force_generic_plan", "auto", "unknown"
_TUPLES_OK = 2  # libpq's PGRES_TUPLES_OK: a result with rows (psycopg.pq.ExecStatus)
_PLAN_MODE: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _plan_mode(dbapi_conn: Any, mode: str) -> None:
    """``dbapi_conn`` set to plan in ``mode`` if it is not already. Not in a failed transaction
    (status 3), which refuses every statement until its rollback: the statement about to run
    fails as it would have, or is that rollback."""
    if _PLAN_MODE.get(dbapi_conn, _AUTO) != mode and dbapi_conn.info.transaction_status != 3:
        dbapi_conn.execute(f"SET plan_cache_mode = {mode}")
        _PLAN_MODE[dbapi_conn] = mode


def _forget_plan_mode(dbapi_conn: Any) -> None:
    """Before a rollback: a transaction open on ``dbapi_conn`` (not idle) takes with it any
    SET made in it."""
    if dbapi_conn in _PLAN_MODE and dbapi_conn.info.transaction_status != 0:
        _PLAN_MODE[dbapi_conn] = _UNKNOWN


def _on_rollback(conn: Connection, *_: Any) -> None:
    if not conn.invalidated:
        _forget_plan_mode(conn.connection.driver_connection)


def _on_reset(dbapi_conn: Any, *_: Any) -> None:
    _forget_plan_mode(dbapi_conn)


def _with_values(dbapi_conn: Any, statement: str, parameters: Any) -> str:
    from psycopg import ClientCursor  # lazy: only a psycopg engine runs this

    return ClientCursor(dbapi_conn).mogrify(statement, parameters)


def _execute_planned(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """psycopg's ``do_execute``: each statement run with the plan its mark asks for (above)."""
    if context is None:
        return False
    options = context.execution_options
    dbapi_conn = cursor.connection
    if options.get(PLAN_PER_VALUE) or getattr(context.compiled, PLAN_PER_VALUE, False):
        if hasattr(cursor, "itersize"):  # a server-side cursor (DECLARE): never prepared
            _plan_mode(dbapi_conn, _AUTO)
            return False
        # its values written in by the driver (as psycopg's client-side cursor binds them): a
        # statement without parameters is planned for what it holds, whatever the mode
        cursor.execute(_with_values(dbapi_conn, statement, parameters), prepare=False)
        return True
    if options.get(PLAN_ONCE) and not hasattr(cursor, "itersize"):
        _plan_mode(dbapi_conn, _GENERIC)
        cursor.execute(statement, parameters, prepare=True)
        return True
    # no parameters (a savepoint's SQL, a fixed statement), or an INSERT of values: one plan
    # whatever the mode
    if parameters and not context.isinsert:
        _plan_mode(dbapi_conn, _AUTO)
    return False


# psycopg answers ``fetchone`` in Python (2–3 µs a row), and SQLAlchemy reads a result it is
# iterating over (``for row in session.execute(...)``) one ``fetchone`` at a time: the activity
# report's 3,200 rows of response times took 9 ms of it. libpq holds the whole result already;
# a SELECT's rows up to this many are taken in one ``fetchall`` (C) and handed out from there.
# A larger one (an export) keeps the one-by-one reading, which makes no Python row before
# it is wanted. The trade: a caller that reads only the first row of a long result
# (``first()``, ``scalar()``) now pays for all of them (3,200 rows: 0.86 ms against 0.30) —
# no page does (a list reads its page, LIMITed); such a read should LIMIT its statement.
ROWS_AT_ONCE = 20_000


def _rows_at_once(
    _conn: Connection,
    cursor: Any,
    _statement: str,
    _parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    """psycopg's ``after_cursor_execute``: the rows of a plain SELECT on a client-side cursor read
    in one call (``ROWS_AT_ONCE``). Not an INSERT/UPDATE/DELETE (their RETURNING rows are
    SQLAlchemy's to read), nor several parameter sets, nor a server-side cursor."""
    if (
        context is None
        or executemany
        or context.is_crud
        or context._is_server_side
        or hasattr(cursor, "itersize")
    ):
        return
    result = cursor.pgresult
    if result is None or result.status != _TUPLES_OK or result.ntuples > ROWS_AT_ONCE:
        return
    context.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(cursor)


def _plans_for_values(engine: Engine) -> Engine:
    """A PostgreSQL engine whose statements get plans fit for their values (above). Only
    psycopg (3) prepares statements; psycopg2 plans each one for its values anyway."""
    dialect = engine.dialect
    base: Any = dialect.statement_compiler
    dialect.statement_compiler = _literal_limits(base)
    if dialect.driver == "psycopg":
        event.listen(engine, "do_execute", _execute_planned)
        event.listen(engine, "after_cursor_execute", _rows_at_once)
        event.listen(engine, "rollback", _on_rollback)
        event.listen(engine, "rollback_savepoint", _on_rollback)
        event.listen(engine.pool, "reset", _on_reset)
    return engine


def _has_input(dbapi_conn: Any) -> bool:
    """Whether an idle connection's socket has anything to read (or is gone)."""
    try:
        if dbapi_conn.closed:
            return True
        poller = io_select.poll()
        poller.register(dbapi_conn.fileno(), io_select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # a closed connection has no socket to ask
        return True


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def reset_engine() -> None:
    """Forget the cached engine (tests and the CLI switch databases)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()


# a statement that only reads: a SELECT (or WITH … SELECT) that neither locks rows nor writes
# (a false "writes" only opens the transaction a little early)
_SELECT = re.compile(r"\s*(SELECT|WITH)\b", re.IGNORECASE)
_WRITES_OR_LOCKS = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(NO\s+KEY\s+UPDATE|KEY\s+SHARE|SHARE)\b",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _only_reads(statement: str) -> bool:
    return bool(_SELECT.match(statement)) and not _WRITES_OR_LOCKS.search(statement)


def _begin_at_first_write(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    dbapi = conn.connection.driver_connection
    if dbapi is not None and dbapi.autocommit and not _only_reads(statement):
        dbapi.autocommit = False  # the driver begins a transaction before this statement


_READS_FIRST: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def reads_first(engine: Engine) -> Engine:
    """``engine`` for a reading request: on PostgreSQL its statements run outside a
    transaction (autocommit) until the first one that writes or locks rows, which begins one
    (committed or rolled back with the session, as ever) — as SQLite's driver runs them. A
    read under READ COMMITTED sees the data as of its own start either way; a reading page
    saves the BEGIN and COMMIT round trips (two of a My day page's six). SQLite: ``engine``."""
    if engine.dialect.name != "postgresql":
        return engine
    found = _READS_FIRST.get(engine)
    if found is None:
        found = engine.execution_options(isolation_level="AUTOCOMMIT")
        event.listen(found, "before_cursor_execute", _begin_at_first_write)
        _READS_FIRST[engine] = found
    return found


def built_once(cache: dict[Any, _T], key: Any, build: Callable[[], _T], limit: int = 256) -> _T:
    """``cache[key]``, built by ``build()`` the first time. For statements built per kind of
    viewer or list shape: a statement object keeps its cache key, so a request only executes
    it. Past ``limit`` keys the cache starts again (keys are few; this is a guard)."""
    found = cache.get(key)
    if found is None:
        if len(cache) > limit:
            cache.clear()
        found = cache[key] = build()
    return found


_MEMO = "crm.memo"


def memo(session: Session, key: str, make: Callable[[], _T]) -> _T:
    """``make()`` once per transaction of ``session``: a page that asks twice for the same
    small cached list (its version check is a round trip) asks the database once. Forgotten
    when the session flushes or its transaction ends, so a write, or a later transaction, reads
    afresh."""
    found = session.info.setdefault(_MEMO, {})
    if key not in found:
        found[key] = make()
    return cast(_T, found[key])  # the value ``make`` gave for this key


def _forget(session: Any, *_: Any) -> None:
    session.info.pop(_MEMO, None)


# the per-process caches' versions (``crm.models.caches``, migration 0026): a number per cache,
# set anew by database triggers in the transaction of any change of the rows behind it
CACHES = ("countries", "plan", "users")
_CV = sa_table("cache_version", column("name", String), column("n", BigInteger))
_VERSIONS = "cache_versions"


def cache_version_columns() -> list[Any]:
    """The caches' versions as columns (one indexed subquery each, in ``CACHES`` order), for
    a statement every request runs anyway to read them beside its own (the signed-in
    session's: ``crm.accounts.sessions``), handed to ``remember_cache_versions``."""
    return [
        select(_CV.c.n).where(_CV.c.name == name).scalar_subquery().label(f"cache_{name}")
        for name in CACHES
    ]


# built once: a statement object keeps its compiled form and cache key between requests
_CACHE_VERSIONS = select(*cache_version_columns())


def remember_cache_versions(session: Session, versions: Iterable[Any]) -> None:
    """The versions ``session`` just read (``cache_version_columns``), for this transaction."""
    session.info.setdefault(_MEMO, {})[_VERSIONS] = tuple(versions)


def cache_version(session: Session, name: str) -> Any:
    """The current version of cache ``name``: a list kept per process under it is current.
    Read once per transaction (with the signed-in session, or else in one statement), and
    afresh after a flush (``memo``): a request that changed the rows sees its own change."""
    found = session.info.setdefault(_MEMO, {})
    versions = found.get(_VERSIONS)
    if versions is None:
        versions = found[_VERSIONS] = tuple(session.execute(_CACHE_VERSIONS).one())
    value = versions[CACHES.index(name)]
    # no row (a database emptied by hand or in part): no kept list is known to be current, so
    # a key no later read matches — built afresh each transaction, never served stale
    return object() if value is None else value


def _forget_before_write(state: Any) -> None:
    """A statement through the session that may write without a flush (an UPDATE, INSERT or
    DELETE built by hand, or SQL text): the versions read before it are forgotten as a flush
    forgets them, so a list read after it is kept under the version its triggers set — a random
    value, never met again if the transaction is rolled back — not under the one before (an
    outside review: a kept list read after a raw UPDATE was filed under the old version and,
    once the UPDATE was rolled back, served its uncommitted rows). About 1 µs a statement."""
    if _may_write(state.statement, state.is_select):
        _forget(state.session)


# the words of a statement that writes rows, in SQL text that begins with WITH
_WRITING_WORDS = re.compile(r"\b(insert|update|delete|merge)\b")
_READING_TEXT = ("select", "with", "pragma", "show", "explain", "values")


def _may_write(statement: Any, is_select: bool) -> bool:
    """Whether a statement run through a session may write rows: anything but a SELECT — SQL
    text too, unless it reads (SELECT …, or WITH … without a writing word: the countries' skip
    scan, the plan's recursive reads)."""
    if is_select:
        return False
    if isinstance(statement, TextClause):
        sql = statement.text.lstrip().lower()
        if sql.startswith(_READING_TEXT):
            return sql.startswith("with") and _WRITING_WORDS.search(sql) is not None
    return True


event.listen(Session, "after_flush", _forget)
event.listen(Session, "after_transaction_end", _forget)
event.listen(Session, "do_orm_execute", _forget_before_write)


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commit on success, roll back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_or_not_found(session: Session, model: type[_T], ident: Any, message: Message) -> _T:
    """Row ``ident`` of ``model``, or ``NotFound(message)`` (an API 404, a page's "not found")."""
    row = session.get(model, ident, execution_options=PLANNED_ONCE)
    if row is None:
        raise NotFound(message)
    return row


def visible_or_not_found(
    session: Session, model: type[_T], ident: int, visible: Any, message: Message
) -> _T:
    """Row ``ident`` of ``model`` if the caller may see it (``visible``: their rule's clause),
    else ``NotFound(message)`` — one answer for missing and hidden, so a 404 tells nothing."""
    table: Any = model  # a table model: its ``id`` is a column
    row = session.scalar(plan_once(select(model).where(table.id == ident, visible)))
    if row is None:
        raise NotFound(message)
    return row


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_rows(session: Session, model: Any, ids: Iterable[int]) -> None:
    """Rows ``ids`` of ``model`` locked for this transaction before a check-then-write
    (PostgreSQL ``SELECT … FOR UPDATE``, in id order so two writers of one pair cannot
    deadlock); a second writer waits for the first, then sees what it did. SQLite: nothing — a
    writing request holds the database's write lock from its start (``begin_write``)."""
    if is_postgres(session):
        session.execute(
            select(model.id).where(model.id.in_(sorted(ids))).order_by(model.id).with_for_update()
        )


def lock_parents(session: Session, model: Any, ids: Iterable[int]) -> set[int]:
    """Rows ``ids`` of ``model`` that something is about to be added under (a firm's contact,
    a project's follow-up) or that are about to be deleted, locked for this transaction in id
    order (PostgreSQL ``SELECT … FOR UPDATE``) — the adds and the deletions take the same lock
    in the same order (the firm, then the project), so of an add and a deletion of its parent
    one waits for the other and then sees what it did: never a child written under a parent
    deleted meanwhile (a foreign-key error), never a deadlock (a foreign key's lighter lock
    upgraded past a waiting deleter). Returns the ids still there: one missing now was
    deleted or merged away while this transaction waited. SQLite: ``ids`` — a writing
    request holds the database from its start, so what it read is still there."""
    wanted = sorted(set(ids))
    if not is_postgres(session) or not wanted:
        return set(wanted)
    stmt = select(model.id).where(model.id.in_(wanted)).order_by(model.id).with_for_update()
    return set(session.scalars(stmt))


# keys of ``one_at_a_time``: a check over many rows that no row lock can guard
CODE_NAME_LOCK = 0x43524D_01  # "CRM" 1: a project's code name is checked free, then taken


def one_at_a_time(session: Session, key: int) -> None:
    """Serialise a check-then-write that reads many rows (no one row to lock): PostgreSQL
    ``pg_advisory_xact_lock(key)``, held until this transaction ends, so a second writer waits
    and then checks what the first committed. SQLite: nothing — a writing request holds the
    database from its start (``begin_write``)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def table(model: type[SQLModel]) -> Table:
    """The Core table of a SQLModel table class, typed (SQLModel does not declare
    ``__table__``), for bulk inserts and updates that skip the ORM."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


# a list page counts its rows up to here ("10,000+"): a count never reads a whole large table
LIST_COUNT_CAP = 10_000


def capped_count(session: Session, stmt: Any, id_col: Any, cap: int = LIST_COUNT_CAP) -> int:
    """How many rows ``stmt`` selects, counting no further than ``cap + 1`` (by ``id_col``)."""
    capped = stmt.with_only_columns(id_col).limit(cap + 1).subquery()
    return session.scalar(select(func.count()).select_from(capped)) or 0


def with_total(rows: Any, count: Any) -> Any:
    """``rows`` (a list's page) with ``count`` (its capped count) as one more column of every
    row, ``list_total``: a subquery that names nothing of the row, run once for the statement
    (PostgreSQL: an InitPlan; SQLite: a constant subquery) — a page and its total in one
    statement and one round trip. Read back with ``page_total``."""
    return rows.add_columns(count.scalar_subquery().label("list_total"))


def page_total(
    session: Session,
    rows: list[Any],
    count: Any,
    params: dict[str, Any],
    limit: int,
    offset: int,
    cap: int = LIST_COUNT_CAP,
) -> int:
    """The total of a list whose page ``rows`` a ``with_total`` statement read: the page's
    length when it holds the whole list, else the rows' ``list_total``, else (a page past the
    end) ``count`` run with ``params``."""
    if offset == 0 and len(rows) < limit <= cap:
        return len(rows)
    if rows:
        return int(rows[0].list_total)
    return session.scalar(count, params) or 0


def serial_scalar(session: Session, stmt: Any, params: dict[str, Any] | None = None) -> Any:
    """``session.scalar`` without parallel workers on PostgreSQL, for a capped count: the workers
    of a parallel plan scan on past its LIMIT (their Gather Merge keeps each one reading ahead),
    so the activities' capped count read 3.4 times the rows it needed and took 85–240 ms
    against 11–72 ms serial on the city data. Only this statement: the connection's setting is
    back to the server's after it. Outside a transaction (a reading request,
    ``reads_first``) it is set for the connection and reset, two statements; in a transaction
    for the transaction (``SET LOCAL``) — where a reading request's would have begun one, its
    BEGIN and COMMIT two more."""
    if not is_postgres(session):
        return session.scalar(stmt, params)
    conn = session.connection()
    dbapi = conn.connection.driver_connection
    if dbapi is not None and dbapi.autocommit:
        dbapi.execute("SET max_parallel_workers_per_gather = 0")
        try:
            return session.scalar(stmt, params)
        finally:
            if not dbapi.closed:
                dbapi.execute("RESET max_parallel_workers_per_gather")
    conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
    try:
        return session.scalar(stmt, params)
    finally:
        conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")


def grouped(session: Session, stmt: Any) -> dict[Any, list[Any]]:
    """The rows of a two-column statement as first column → [second column, …], in the
    statement's order (a firm's aliases, a park's clusters: one statement, no row-by-row read)."""
    out: dict[Any, list[Any]] = {}
    for key, value in session.execute(stmt):
        out.setdefault(key, []).append(value)
    return out


def allocate_ids(session: Session, table: str, n: int) -> list[int]:
    """Reserve ``n`` primary keys for a bulk insert without RETURNING (much faster in batches).

    PostgreSQL draws them from the table's sequence; SQLite continues after max(id) — safe
    because the caller's transaction holds SQLite's write lock once it has written anything,
    and the first write of a bulk insert happens right after this call in the same transaction.
    """
    from sqlalchemy import text

    if n <= 0:
        return []
    if is_postgres(session):
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": n},
        )
        return [r[0] for r in rows]
    start = session.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table}"')).scalar() or 0
    return list(range(start + 1, start + 1 + n))


# PostgreSQL SQLSTATEs of a write that lost a race for a lock and may simply be tried again
_RETRYABLE_PG = {"55P03", "40001", "40P01"}  # lock_not_available, serialization, deadlock


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means "another writer holds the lock; try again" (SQLite's
    "database is locked", PostgreSQL's lock timeout, serialization failure or deadlock)."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _RETRYABLE_PG:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text


def raced_constraint(exc: BaseException) -> str | None:
    """``"unique"`` or ``"foreign_key"`` when a write broke that kind of constraint — on
    PostgreSQL the loser of a race a check-then-write did not see (two officers entering one
    firm at once, a contact added to a firm being merged away); nothing of the write was saved.
    Else None."""
    if not isinstance(exc, IntegrityError):
        return None
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    text = str(orig)
    if code == "23505" or "UNIQUE constraint failed" in text:
        return "unique"
    if code == "23503" or "FOREIGN KEY constraint failed" in text:
        return "foreign_key"
    return None


def begin_write(session: Session) -> None:
    """Open ``session``'s transaction as a writer now: on SQLite ``BEGIN IMMEDIATE`` takes the
    database's write lock at once, waiting for it (``BUSY_TIMEOUT_MS``) like any write. A
    request that will write starts so: pysqlite otherwise opens the transaction only at the
    first INSERT/UPDATE/DELETE, after the request's reads, and SQLite cannot wait for the lock
    in the middle of a transaction that has read — it answers "database is locked" at once.
    PostgreSQL needs nothing (row locks, no database-wide one)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    conn = session.connection()
    dbapi = conn.connection.driver_connection
    if dbapi is not None and not dbapi.in_transaction:
        _begin_immediate(conn, dbapi)


# how often a writer waiting for SQLite's write lock tries again, in seconds
BUSY_POLL_S = 0.002


def _begin_immediate(conn: Connection, dbapi: Any) -> None:
    """``BEGIN IMMEDIATE``, tried every ``BUSY_POLL_S`` until the lock is free or
    ``BUSY_TIMEOUT_MS`` has passed (then SQLite's "database is locked", wrapped as SQLAlchemy's
    ``DBAPIError``: ``is_busy``, a 503). Nothing is written before the lock is held, so trying
    again can neither lose nor double a write.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and then 100 ms
    between its tries: a writer that has waited a while wakes up to 100 ms after the lock was
    given back, and meanwhile a writer that has just come takes it (two processes of four
    threads writing, with CPU-bound threads beside them: p95 0.9–1.5 s a write, against
    70–95 ms polling every 2 ms). The connection keeps the busy timeout for its other
    statements (a write that did not begin here still waits for the lock)."""
    dbapi.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                dbapi.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise DBAPIError.instance(
                        "BEGIN IMMEDIATE", (), exc, sqlite3.Error, dialect=conn.dialect
                    ) from exc
            time.sleep(BUSY_POLL_S)
    finally:
        dbapi.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """The block's writes as one short transaction of their own, committed when it ends (rolled
    back when it raises): on SQLite the database's one write lock is taken as the block starts
    (``begin_write``) and given back at its end, so a request holds it for its writes and the
    checks they depend on (which the block's service makes again inside it) — not for the reads
    before them, the thread hops of its request or the rendering of its answer after.

    Whatever ``session`` read before is its own transaction, ended first (nothing was written:
    on SQLite the driver holds no transaction then, on PostgreSQL its snapshot ends); what it
    reads after the block is a new transaction that sees the block's writes. Loaded rows stay
    loaded across the commit (``expire_on_commit=False`` sessions); after a rollback they are
    read again when next used."""
    if session.in_transaction():
        session.commit()
    try:
        begin_write(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def bind_url(session: Session) -> URL:
    """The database ``session`` talks to, whether it is bound to an engine or a connection."""
    bind = session.get_bind()
    return bind.engine.url if isinstance(bind, Connection) else bind.url


def write_or_skip(session: Session, statement: Any) -> bool:
    """Run one small write that nothing depends on (a "last seen" stamp) and commit it at once,
    on a connection of its own, outside ``session``'s transaction.

    It waits at most ``BEST_EFFORT_WAIT_MS`` for the database's write lock and gives up (False)
    rather than make the request wait or fail: on SQLite the request's own transaction then never
    holds the one write lock while it reads and renders a page (a page view is not a write), and
    a busy database skips the stamp instead of answering 500."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if not isinstance(engine, Engine):
        return False
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={BEST_EFFORT_WAIT_MS}")
            try:
                if not sqlite:  # a row another transaction holds: wait a moment, no more
                    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{BEST_EFFORT_WAIT_MS}ms'")
                conn.execute(statement)
                conn.commit()
            finally:
                if sqlite:  # the pooled connection goes back with its normal patience
                    conn.rollback()
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except DBAPIError as exc:  # "database is locked", lock_timeout, a dropped connection
        log.info("best-effort write skipped: %s", exc.__class__.__name__)
        return False
    return True


class DriverSelect:
    """One fixed SELECT, run on the driver's own cursor of a session's connection.

    For the read every page request makes before anything else (its signed-in session and
    user, ``crm.accounts.sessions``), and a page's small fixed reads by key (a project's stage
    changes and capital arrivals, ``crm.projects.reads``): SQLAlchemy's execution path — the
    compiled-cache lookup, the execution context, the result's metadata and the ORM's entity
    loading — cost about 30 times the driver's call for that one row read by key (0.9 ms of CPU
    against 0.03), and 90 µs over the driver's 23 for a project's stage changes. The
    statement is compiled once per dialect and each value still goes through its column type's
    result processor, as ``Session.execute`` does. A driver error comes wrapped as SQLAlchemy's
    (``DBAPIError``, which the app answers). The statement is not seen by engine events
    (``before_cursor_execute``) or the engine's echo."""

    def __init__(self, stmt: Any) -> None:
        self.stmt = stmt
        self.columns = list(stmt.selected_columns)
        self._compiled: weakref.WeakKeyDictionary[Any, tuple[Any, ...]] = (
            weakref.WeakKeyDictionary()
        )
        self._tuple: Any = None

    def first(self, session: Session, params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row (its values converted by their columns' types), or None."""
        rows = self._run(session, params, one=True)
        return rows[0] if rows else None

    def all(self, session: Session, params: dict[str, Any]) -> list[Any]:
        """Every row, as a named tuple of the statement's column keys (read by name like a
        ``Row``: ``row.changed_at``, ``row._fields``)."""
        if self._tuple is None:
            self._tuple = namedtuple("Row", [c.key for c in self.columns])  # type: ignore[misc]
        make = self._tuple._make
        return [make(r) for r in self._run(session, params, one=False)]

    def _run(self, session: Session, params: dict[str, Any], *, one: bool) -> list[tuple[Any, ...]]:
        if session.autoflush:  # what the session holds unwritten is read, as by its own reads
            session.flush()
        conn = session.connection()
        dialect = conn.dialect
        kept = self._compiled.get(dialect)
        compiled = kept[0] if kept is not None else self.stmt.compile(dialect=dialect)
        bound = compiled.construct_params(params)
        for name, proc in compiled._bind_processors.items():
            if name in bound:
                bound[name] = proc(bound[name])
        args: Any = (
            tuple(bound[name] for name in compiled.positiontup) if dialect.positional else bound
        )
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.string, args)
            rows = cursor.fetchmany(1) if one else cursor.fetchall()
            if kept is None:  # the columns' converters, for the types the driver names
                procs = tuple(
                    col.type._cached_result_processor(dialect, desc[1])
                    for col, desc in zip(self.columns, cursor.description, strict=True)
                )
                kept = self._compiled[dialect] = (compiled, procs)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                compiled.string, args, exc, dialect.loaded_dbapi.Error, dialect=dialect
            ) from exc
        finally:
            cursor.close()
        procs = kept[1]
        if not any(procs):
            return [tuple(row) for row in rows]
        return [
            tuple(v if p is None else p(v) for p, v in zip(procs, row, strict=True)) for row in rows
        ]


class AsLoaded:
    """Instances of ``model`` from its table's columns read outside the ORM (``DriverSelect``),
    in a session as if the session had loaded them: persistent, in its identity map, nothing
    pending — a change is flushed as an UPDATE like any loaded row's. The instance is built as
    the ORM's loader builds one (``new_instance``, then its values)."""

    def __init__(self, model: type[SQLModel]) -> None:
        self.model = model
        self.columns = list(table(model).c)
        self._keys: tuple[list[str], list[int]] | None = None

    def attach(self, session: Session, values: Iterable[Any]) -> Any:
        """The instance of the row ``values`` (the table's columns in order) in ``session``;
        the session's own instance if it already holds that row."""
        mapper = sa_inspect(self.model)
        if self._keys is None:
            configure_mappers()  # as a first query would: the attributes' loaders in place
            keys = [mapper.get_property_by_column(c).key for c in self.columns]
            self._keys = keys, [self.columns.index(c) for c in mapper.primary_key]
        keys, pk = self._keys
        values = list(values)
        ident = mapper.identity_key_from_primary_key([values[i] for i in pk])
        held = session.identity_map.get(ident)
        if held is not None:
            return held
        obj = mapper.class_manager.new_instance()
        obj.__dict__.update(zip(keys, values, strict=True))
        make_transient_to_detached(obj)
        session.add(obj)
        return obj
