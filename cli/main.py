"""The ``crm`` command: serve, migrate, load the policy pack and demo data, manage users."""

from __future__ import annotations

import errno
import os
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy import func, select

from crm.config import get_settings
from crm.demo.password import DEMO_PASSWORD

if TYPE_CHECKING:  # each command imports what it runs (tests/test_tooling.py LAZY_FILES)
    from crm.imports.common import ImportReport

app = typer.Typer(
    help="招商 CRM — the investment-attraction CRM.", no_args_is_help=True, add_completion=False
)


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="target revision")] = "head",
    down: Annotated[bool, typer.Option(help="downgrade to the revision")] = False,
) -> None:
    """Upgrade (or downgrade) the database schema with Alembic."""
    from crm.migrate import downgrade, upgrade

    if down:
        downgrade(revision=revision if revision != "head" else "base")
    else:
        upgrade(revision=revision)
    typer.echo(f"database at {'base' if down and revision == 'head' else revision}")


@app.command("load-pack")
def load_pack_cmd(
    path: Annotated[Path | None, typer.Argument(help="pack file (YAML)")] = None,
) -> None:
    """Load (or update in place) a policy pack; a malformed pack changes nothing."""
    from crm.db import session_scope
    from crm.errors import CRMError
    from crm.policy.pack import DEFAULT_PACK, read_pack
    from crm.policy.service import load_pack

    try:
        pack = read_pack(path or DEFAULT_PACK)
        with session_scope() as s:
            rep = load_pack(s, pack)
    except CRMError as exc:
        _fail(exc.message)
        return
    if rep.changed:
        typer.echo(
            f"policy pack {pack.pack.code} {pack.pack.version}: created {rep.created}, "
            f"updated {rep.updated}"
        )
    else:
        typer.echo(f"policy pack {pack.pack.code} {pack.pack.version}: already up to date")


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="small | city")] = "small",
    seed: Annotated[int, typer.Option(help="random seed")] = 42,
    password: Annotated[str, typer.Option(help="password of every demo user")] = DEMO_PASSWORD,
) -> None:
    """Generate demo data at a scale (deterministic from the seed)."""
    from crm.db import get_engine, session_scope
    from crm.demo.generator import generate
    from crm.models.firms import Firm

    with session_scope() as s:
        existing = s.scalar(select(func.count()).select_from(Firm).where(Firm.source == "demo"))
    if existing:
        _fail(f"demo data is already loaded ({existing} firms); use a fresh database")
    t0 = time.perf_counter()
    counts = generate(get_engine(), scale, seed=seed, password=password)
    typer.echo(
        f"demo data ({scale}, seed {seed}) loaded in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )


@app.command("add-user")
def add_user(
    username: str,
    role: Annotated[str, typer.Option(help="officer | manager | admin")] = "officer",
    password: Annotated[str | None, typer.Option(help="prompted when omitted")] = None,
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    name: Annotated[str | None, typer.Option(help="display name")] = None,
    email: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a user with a role (the first admin is made this way)."""
    from crm.accounts.service import create_user
    from crm.db import session_scope
    from crm.errors import CRMError
    from crm.models.accounts import Department

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope() as s:
            dep_id = None
            if department:
                dep = s.scalar(select(Department).where(Department.code == department))
                if dep is None:
                    _fail(f"no department with code {department}")
                    return
                dep_id = dep.id
            u = create_user(
                s,
                None,
                username=username,
                password=password,
                role=role,
                display_name=name,
                email=email,
                department_id=dep_id,
            )
            typer.echo(f"user {u.username} ({u.role}) created with id {u.id}")
    except CRMError as exc:
        _fail(exc.message)


@app.command("add-department")
def add_department(code: str, name: str) -> None:
    """Add a department (e.g. a district's investment bureau)."""
    from crm.accounts.service import create_department
    from crm.db import session_scope
    from crm.errors import CRMError

    try:
        with session_scope() as s:
            d = create_department(s, None, name, code)
            typer.echo(f"department {d.code} created with id {d.id}")
    except CRMError as exc:
        _fail(exc.message)


@app.command()
def bench(
    scale: Annotated[str, typer.Option(help="small | city")] = "city",
    database_url: Annotated[
        str | None,
        typer.Option(
            help="a PostgreSQL server URL: a fresh database <name>_bench_<scale> is made there "
            "(default: an SQLite file in a temporary folder)"
        ),
    ] = None,
    reuse: Annotated[
        str | None,
        typer.Option(
            help="an SQLite file (or PostgreSQL URL) kept between runs: built on the first run, "
            "migrated and reused after"
        ),
    ] = None,
    requests: Annotated[int, typer.Option(help="timed requests per scenario")] = 50,
    warmup: Annotated[int, typer.Option(help="untimed requests first")] = 5,
    concurrency: Annotated[int, typer.Option(help="clients for the throughput runs")] = 8,
    duration: Annotated[float, typer.Option(help="seconds of each throughput run")] = 10.0,
    scenario_seconds: Annotated[
        float,
        typer.Option(help="a scenario stops early after this many seconds (at least 5 requests)"),
    ] = 60.0,
    json_out: Annotated[
        str | None,
        typer.Option(
            "--json", help="write the results here (default bench/results/<date>-<scale>.json)"
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(help="only scenarios whose name contains this (comma-separated: any of them)"),
    ] = None,
    keep: Annotated[bool, typer.Option(help="keep the temporary SQLite database")] = False,
    mixed_clients: Annotated[int, typer.Option(help="clients of the mixed workload")] = 16,
    mixed_seconds: Annotated[float, typer.Option(help="seconds of each mixed run")] = 30.0,
    mixed_workers: Annotated[
        str, typer.Option(help="web processes of each mixed run (comma-separated; 0 = per core)")
    ] = "1,0",
    app_root: Annotated[
        str | None, typer.Option(help="serve the app from another checkout (compare versions)")
    ] = None,
    against: Annotated[
        str | None,
        typer.Option(
            help="serve another checkout beside this one and time both in the same moments: "
            "every page request sent to each in turn, every mixed run repeated on it, alternating"
        ),
    ] = None,
    against_database: Annotated[
        str | None,
        typer.Option(
            help="serve this checkout (or --against's) beside on another database with the same "
            "data (e.g. PostgreSQL beside SQLite), timed in the same moments"
        ),
    ] = None,
    against_rounds: Annotated[
        int, typer.Option(help="with --against: mixed runs of each version", min=1)
    ] = 2,
) -> None:
    """Load a scale into a fresh database, serve the app and time every page, report and job
    against its raw-SQL floor (SPEC section 9), then the capacity: a mixed officer workload on
    one web process and on every core (``--only mixed`` for that alone)."""
    if scale not in ("small", "city"):
        _fail("--scale must be small or city")
    from bench.harness import Options, run

    run(
        Options(
            scale=scale,
            database_url=database_url,
            reuse=reuse,
            requests=requests,
            warmup=warmup,
            concurrency=concurrency,
            duration=duration,
            scenario_seconds=scenario_seconds,
            json_path=json_out,
            only=only,
            keep=keep,
            log=typer.echo,
            mixed_clients=mixed_clients,
            mixed_seconds=mixed_seconds,
            mixed_workers=tuple(int(w) for w in mixed_workers.split(",") if w.strip()),
            app_root=app_root,
            against=against,
            against_database=against_database,
            against_rounds=against_rounds,
        )
    )


@app.command("rebuild-summaries")
def rebuild_summaries() -> None:
    """Count the per-officer-week rollups again from the raw rows, in the configured zone."""
    from crm.summaries.fill import rebuild

    weeks = rebuild()
    typer.echo("summaries rebuilt: " + ", ".join(f"{name} {n} weeks" for name, n in weeks.items()))


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    scheduler: Annotated[bool, typer.Option(help="run the scheduler in this process")] = True,
    workers: Annotated[
        int | None,
        typer.Option(help="web worker processes (default: CRM_WEB_WORKERS, else one per core)"),
    ] = None,
) -> None:
    """Serve the app on every core: one web process per core (or ``--workers``), and the
    scheduler in exactly one of them — the one holding the leader lock (by default)."""
    _serve(_bind(host, port), host, port, scheduler=scheduler, workers=workers)


def _bind(host: str, port: int) -> socket.socket:
    """The listening address, bound here before anything else: a port another program holds
    fails at once with one line and exit code 1 — never the address of a server that is not
    ours. The socket is handed to uvicorn's web processes, so whatever answers on it is us."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # as uvicorn binds: a port left in TIME_WAIT by a server just stopped is taken again, but
    # never one that another socket is listening on
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            _fail(
                f"端口 {port} 已被占用 (port {port} on {host} is already in use): "
                "stop the program using it or choose another with --port"
            )
        elif exc.errno == errno.EACCES:
            _fail(f"没有权限监听端口 {port} (permission denied on {host}:{port}): use --port")
        _fail(f"无法监听 {host}:{port} (cannot listen there: {exc.strerror or exc})")
    except (OverflowError, UnicodeError) as exc:
        sock.close()
        _fail(f"无法监听 {host}:{port} (cannot listen there: {exc})")
    sock.set_inheritable(True)
    return sock


def _serve(
    sock: socket.socket, host: str, port: int, *, scheduler: bool, workers: int | None
) -> None:
    import uvicorn  # lazy: `crm migrate` does not load the server
    from uvicorn.supervisors import Multiprocess  # lazy: as above

    n = workers or get_settings().workers
    port = sock.getsockname()[1]  # --port 0: the one the system gave
    os.environ["CRM_RUN_SCHEDULER"] = "1" if scheduler and get_settings().scheduler_enabled else "0"
    config = uvicorn.Config(
        "server.factory:app",
        host=host,
        port=port,
        workers=n,
        factory=False,
        log_level="warning",
        log_config=_log_config(),
        access_log=False,
        # the app alone decides whom to believe (CRM_TRUSTED_PROXIES, server.deps.client_ip)
        proxy_headers=False,
        # a worker that does not answer the supervisor's ping in time is killed and replaced:
        # uvicorn's 5 s is shorter than an import of the app on a busy machine (restart loop)
        timeout_worker_healthcheck=60,
    )
    shown = f"[{host.strip('[]')}]" if ":" in host else host  # an IPv6 address in a URL
    _announce_when_ready(
        host, port, f"招商 CRM at http://{shown}:{port}/ ({n} web process{'es' if n > 1 else ''})"
    )
    server = uvicorn.Server(config)
    try:
        if n > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            config.load_app()
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    if n == 1 and not server.started:
        raise typer.Exit(3)  # uvicorn's STARTUP_FAILURE: the app did not start (logged above)


def _announce_when_ready(host: str, port: int, message: str) -> None:
    """Print ``message`` (the address) once the server answers on it — not before a web process
    has loaded the app, so the address a user opens at once gives the page, not "connection
    refused". A thread asks ``/healthz`` until it answers; the port is bound by this process
    (``_bind``) before the thread starts, so the answer can only come from this server."""
    import threading
    import urllib.error
    import urllib.request

    probe = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in probe and not probe.startswith("["):
        probe = f"[{probe}]"
    url = f"http://{probe}:{port}/healthz"

    def wait() -> None:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except urllib.error.HTTPError:  # it answered (a database check that failed)
                break
            except OSError:  # not listening yet, or the app still loading
                time.sleep(0.1)
        typer.echo(message)

    threading.Thread(target=wait, name="announce", daemon=True).start()


def _log_config() -> dict:
    """uvicorn's logging, plus the app's own ``crm`` loggers at INFO (which worker leads the
    scheduler, jobs run) on stderr."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["crm"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


@app.command()
def jobs(
    retry: Annotated[float, typer.Option(help="seconds between tries for the lock")] = 15.0,
) -> None:
    """Run the scheduler as its own process (it schedules only while it holds the lock)."""
    import logging
    import signal
    import threading

    from jobs.runner import Runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from crm.dbuse import InUse
    from crm.errors import CRMError

    try:
        in_use = InUse(get_settings().database_url).acquire()
    except CRMError as exc:
        _fail(exc.message)
        return
    runner = Runner(retry_seconds=retry).start()
    typer.echo(f"scheduler process {os.getpid()} started (waits for the lock if another runs)")
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    runner.stop()
    in_use.release()


@app.command()
def start(
    host: Annotated[str, typer.Option()] = "127.0.0.1", port: Annotated[int, typer.Option()] = 8000
) -> None:
    """Migrate, load the policy pack and the small demo data if empty, then serve."""
    sock = _bind(host, port)  # a port in use fails before anything is migrated or loaded
    from crm.db import session_scope
    from crm.migrate import upgrade
    from crm.models.firms import Firm

    upgrade()
    load_pack_cmd(None)
    with session_scope() as s:
        has_demo = s.scalar(select(func.count()).select_from(Firm).where(Firm.source == "demo"))
    if not has_demo:
        demo(scale="small", seed=42, password=DEMO_PASSWORD)
    typer.secho(
        f"\n  demo login: manager01 / {DEMO_PASSWORD}  (also officer001, admin)"
        "\n  the address follows once the server answers\n",
        fg=typer.colors.GREEN,
    )
    _serve(sock, host, port, scheduler=True, workers=None)


@app.command("import")
def import_cmd(
    kind: Annotated[str, typer.Argument(help="firms | contacts | projects")],
    file: Annotated[Path, typer.Argument(help=".xlsx or .csv, first row = headers")],
    as_user: Annotated[str, typer.Option("--as", help="acting manager or admin")] = "admin",
    skip_invalid: Annotated[
        bool, typer.Option(help="import the valid rows and list the rejected ones")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="check only, change nothing")] = False,
    update_matching: Annotated[
        bool, typer.Option(help="give rows matching a contact or project already there its values")
    ] = False,
) -> None:
    """Import firms, contacts or projects; every rejected row is listed with the reason.

    The file becomes an import run like an upload on the import page (it is in the import
    history, with its rejected rows as .xlsx), imported here with its progress on the terminal;
    while another import runs, this one waits its turn."""
    from crm.db import session_scope
    from crm.errors import CRMError
    from crm.imports import run_report, runs
    from crm.models.accounts import User
    from crm.models.imports import ImportRun

    try:
        data = file.read_bytes()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
        return
    mode = "check" if dry_run else ("skip" if skip_invalid else "all")
    t0 = time.perf_counter()
    try:
        with session_scope() as s:
            actor = s.scalar(select(User).where(User.username == as_user))
            if actor is None:
                _fail(f"no user {as_user}")
                return
            run = runs.create_run(
                s, actor, kind, file.name, data, mode=mode, update_matching=update_matching
            )
            run_id = run.id
    except CRMError as exc:
        _fail(str(exc.message))
        return
    _run_in_turn(run_id)
    with session_scope() as s:
        run = s.get(ImportRun, run_id)
        assert run is not None
        rep, error, state = run_report.report_of(run), run_report.error_of(run), run.status
    if rep is None:
        _fail(f"run {run_id} {state}: {error}")
        return
    _echo_import_report(rep)
    verb = "checked (dry run)" if dry_run else ("imported" if rep.applied else "NOT imported")
    typer.echo(
        f"{kind}: {rep.total} rows, {rep.imported} {verb}, {rep.unchanged} unchanged, "
        f"{rep.updated} updated, {rep.rejected_rows} rejected, {time.perf_counter() - t0:.1f} s "
        f"(import run {run_id}: the history and its rejected rows at /imports/history)"
    )
    if rep.rejected and not rep.applied and not dry_run:
        raise typer.Exit(1)


def _run_in_turn(run_id: int) -> None:
    """Import the run here once no other import runs, its progress on the terminal (a line
    rewritten in place, or one line a phase in a log)."""
    from crm.db import session_scope
    from crm.imports import runs
    from crm.models.imports import ImportRun

    tty = sys.stderr.isatty()
    shown = {"phase": "", "line": ""}

    def echo(phase: str, done: int, total: int | None) -> None:
        line = f"run {run_id}: {phase} {done:,}" + (f" / {total:,} rows" if total else " rows")
        if tty:
            typer.echo(f"\r{line}\x1b[K", nl=False, err=True)
        elif phase != shown["phase"]:  # a log: one line a phase
            typer.echo(line, err=True)
        shown["phase"], shown["line"] = phase, line

    while True:
        if runs.claim(run_id):
            runs.execute(run_id, echo=echo)
            break
        with session_scope() as s:
            run = s.get(ImportRun, run_id)
            state = run.status if run is not None else "missing"
            if state not in ("queued", "running"):
                break
            echo(f"waiting ({state})" if state == "queued" else run.phase or state, 0, None)
        time.sleep(1)
    if tty and shown["line"]:
        typer.echo("", err=True)


def _echo_import_report(rep: ImportReport) -> None:
    """The rejected rows and warnings (the first 200 of each) and the report's notes."""
    for e in rep.rejected[:200]:
        typer.echo(f"row {e.row}: {rep.column(e)}: {e.message}")
    if len(rep.rejected) > 200:
        typer.echo(f"… and {len(rep.rejected) - 200} more")
    for w in rep.warnings[:200]:
        typer.echo(f"row {w.row}: {rep.column(w)}: {w.message} (warning)")
    for note in rep.notes:
        typer.echo(str(note))


@app.command("briefing")
def briefing_cmd(
    out: Annotated[Path, typer.Option("--out", help="file to write: .pdf or .xlsx")],
    week: Annotated[
        str | None, typer.Option(help="a day of the week (YYYY-MM-DD); default the last full week")
    ] = None,
    cluster: Annotated[str | None, typer.Option(help="one cluster (its code)")] = None,
    park: Annotated[str | None, typer.Option(help="one park (its code)")] = None,
    as_user: Annotated[str, typer.Option("--as", help="acting manager or admin")] = "admin",
    lang: Annotated[str, typer.Option(help="zh | en")] = "zh",
) -> None:
    """Write the weekly briefing (SPEC §5) as a one-page PDF, or as Excel."""
    from datetime import date

    from crm.db import session_scope
    from crm.errors import CRMError
    from crm.models.accounts import User
    from crm.reports import briefing_pdf, registry
    from crm.reports.common import ReportFilters, clusters
    from crm.reports.export import to_xlsx

    try:
        day = date.fromisoformat(week) if week else None
    except ValueError:
        _fail("--week: use YYYY-MM-DD")
        return
    if out.suffix.lower() not in (".pdf", ".xlsx"):
        _fail(f"--out: the file name must end in .pdf or .xlsx (got {out.name!r})")
        return
    if not out.parent.is_dir():
        _fail(f"--out: no such folder: {out.parent}")
        return
    xlsx = out.suffix.lower() == ".xlsx"
    try:
        with session_scope() as s:
            actor = s.scalar(select(User).where(User.username == as_user))
            if actor is None:
                _fail(f"no user {as_user}")
                return
            f = ReportFilters(week=day, cluster=cluster, park=park, detail=xlsx)
            b = registry.run(s, actor, "briefing", f)
            if xlsx:
                body = to_xlsx("briefing", b)
            else:
                names = {c.code: (c.name_en if lang == "en" else c.name_zh) for c in clusters(s)}
                body = briefing_pdf.to_pdf(b, names, lang)
    except CRMError as exc:
        _fail(exc.message)
        return
    try:
        out.write_bytes(body)
    except OSError as exc:
        _fail(f"--out: cannot write {out}: {exc.strerror or exc}")
        return
    typer.echo(f"briefing {b.week_start} — {b.week_end} ({b.scope_name_zh}): {out}")


@app.command("export")
def export_cmd(
    directory: Annotated[Path, typer.Argument(help="folder to write (created if missing)")],
    without_passwords: Annotated[
        bool,
        typer.Option(
            "--without-passwords",
            help="leave the users' password hashes out (they come back unable to log in "
            "until an admin sets a password)",
        ),
    ] = False,
) -> None:
    """Write the whole database as one .xlsx per kind plus the policy pack: firms, contacts
    and projects in the import's own column names (each goes through `crm import`), and
    departments, users (password hashes, never a password), stage history, capital arrivals,
    activities and follow-ups; `crm import-folder DIR` reads the folder back into an empty
    instance."""
    from crm.dataset_export import export_dir
    from crm.db import session_scope

    with session_scope() as s:
        counts = export_dir(s, directory, with_password_hashes=not without_passwords)
    for kind, n in counts.items():
        typer.echo(f"{kind}: {n} rows → {directory / (kind + '.xlsx')}")
    typer.echo(f"policy pack → {directory / 'policy_pack.yaml'}")


@app.command("import-folder")
def import_folder_cmd(
    directory: Annotated[Path, typer.Argument(help="a folder written by `crm export`")],
) -> None:
    """Read a `crm export` folder into this empty instance (after `crm migrate`): every row
    keeps its 编号; departments and users already here are matched by code and user name.
    All or nothing."""
    from crm.db import session_scope
    from crm.errors import CRMError
    from crm.imports.folder import import_folder

    try:
        with session_scope() as s:
            counts = import_folder(s, directory)
    except CRMError as exc:
        _fail(exc.message)
        return
    for kind, n in counts.items():
        typer.echo(f"{kind}: {n} rows")


@app.command("backup")
def backup_cmd(
    target: Annotated[Path | None, typer.Argument(help="file to write")] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="then check that the copy restores")
    ] = False,
) -> None:
    """Back up the database (SQLite: online copy; PostgreSQL: pg_dump custom format)."""
    from datetime import datetime

    from crm.backup import backup
    from crm.backup import verify as verify_backup
    from crm.config import ROOT
    from crm.errors import CRMError

    url = get_settings().database_url
    if target is None:
        stamp = datetime.now().astimezone().strftime("%Y%m%d-%H%M%S")
        ext = "db" if url.startswith("sqlite") else "dump"
        target = ROOT / "var" / "backups" / f"crm-{stamp}.{ext}"
    try:
        backup(url, target)
        typer.echo(f"backup written to {target}")
        if verify:
            checked = verify_backup(url, target)
            typer.echo(
                f"verified: {checked.kind}, checksum ok, migration {checked.revision or '-'}"
            )
    except CRMError as exc:
        _fail(exc.message)


@app.command("restore")
def restore_cmd(
    source: Annotated[Path, typer.Argument(help="a file made by crm backup")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="only check the file; change nothing")
    ] = False,
) -> None:
    """Replace the database with a backup: refused while the app or the scheduler runs, or
    when the file is not a whole CRM backup; the replaced database is kept."""
    from crm.backup import restore, verify
    from crm.errors import CRMError

    url = get_settings().database_url
    try:
        checked = verify(url, source)
        note = "checksum ok" if checked.checksum else "no .sha256 beside it"
        typer.echo(f"{source}: a {checked.kind} backup, {note}")
        if check:
            return
        if not yes and not typer.confirm("This replaces the whole database. Go on?"):
            raise typer.Exit(1)
        kept = restore(url, source)
    except CRMError as exc:
        _fail(exc.message)
        return
    typer.echo(f"database restored from {source}")
    if kept:
        typer.echo(f"the replaced database is kept as {kept}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
