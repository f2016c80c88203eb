"""The tools that keep the tree as it is, run by the suite so CI runs them: ruff (lint and
format), the import contracts (layers that only point down) and mypy."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=1200)


def test_ruff_lints_clean():
    out = run(sys.executable, "-m", "ruff", "check", ".")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_ruff_format_changes_nothing():
    out = run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_the_import_contracts_hold():
    out = run(str(BIN / "lint-imports"), "--no-cache")
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_an_upward_import_breaks_a_contract(tmp_path):
    """The same machinery, told that cli/ sits below crm/, finds cli's imports of crm/."""
    cfg = tmp_path / "upside-down.toml"
    cfg.write_text(
        textwrap.dedent(
            """
            [tool.importlinter]
            root_packages = ["crm", "cli"]

            [[tool.importlinter.contracts]]
            name = "upside down"
            type = "layers"
            layers = ["crm", "cli"]
            """
        ),
        encoding="utf-8",
    )
    out = run(str(BIN / "lint-imports"), "--no-cache", "--config", str(cfg))
    assert out.returncode != 0
    assert "cli.main -> crm." in out.stdout


def _domain_package(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def test_no_two_packages_of_the_domain_import_each_other():
    """Each package of crm/ (and each top-level module) imports others only one way: a service
    that needs another area's tables imports them from crm.models, below every service."""
    import grimp

    graph = grimp.build_graph("crm", cache_dir=None)
    edges = {
        (_domain_package(a), _domain_package(b))
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if "." in a and "." in b
    }
    pairs = sorted(f"{a} <-> {b}" for a, b in edges if a < b and (b, a) in edges)
    assert pairs == []


def test_a_two_way_package_pair_breaks_the_contract(tmp_path):
    """pyproject's no-cycle contract, pointed at a small tree where one package's service
    imports the other's tables and back (the knot crm/ had before its models layer), breaks."""
    contract = next(
        c
        for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
            "importlinter"
        ]["contracts"]
        if c["type"] == "acyclic_siblings"
    )
    assert contract["ancestors"] == ["crm"]
    for area, other in (("firms", "projects"), ("projects", "firms")):
        (tmp_path / "knot" / area).mkdir(parents=True)
        (tmp_path / "knot" / area / "__init__.py").write_text("")
        (tmp_path / "knot" / area / "models.py").write_text("")
        (tmp_path / "knot" / area / "service.py").write_text(f"import knot.{other}.models\n")
    (tmp_path / "knot" / "__init__.py").write_text("")
    (tmp_path / "knot.toml").write_text(
        textwrap.dedent(
            """
            [tool.importlinter]
            root_packages = ["knot"]

            [[tool.importlinter.contracts]]
            name = "no cycle"
            type = "acyclic_siblings"
            ancestors = ["knot"]
            """
        ),
        encoding="utf-8",
    )
    out = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", "--config", str(tmp_path / "knot.toml")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode != 0, out.stdout
    assert "BROKEN" in out.stdout


def test_the_domain_has_no_function_level_imports_of_itself():
    """An import written inside a function of crm/ to dodge a cycle hides the cycle: none."""
    found = []
    for path in sorted((ROOT / "crm").rglob("*.py")):
        if "versions" in path.parts:
            continue
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.module}"
                    for node in ast.walk(fn)
                    if isinstance(node, ast.ImportFrom)
                    and (node.module or "").split(".")[0] == "crm"
                ]
    assert found == []


# Outside crm/, an import inside a function needs a stated reason: these files as a whole, or a
# ``# lazy: <reason>`` comment on the import's line or the line above. Anything else goes to the
# module's top (an import written inside a function to dodge a cycle hides the cycle).
LAZY_FILES = {
    "cli/main.py": "each command imports what it runs: `crm migrate` loads neither the app, "
    "uvicorn, the scheduler nor the benchmark",
    "bench/": "the benchmark loads each part of the app (demo data, jobs, import, PostgreSQL's "
    "driver) only when that part is measured, and names a part missing from an older checkout "
    "(--app-root) instead of failing on import",
    "scripts/": "scripts run against another checkout first on PYTHONPATH and set "
    "CRM_DATABASE_URL before they import the app",
}


def test_imports_inside_functions_outside_the_domain_say_why():
    found = []
    for package in ("api", "web", "jobs", "server", "bench", "cli", "scripts"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if any(name == f or (f.endswith("/") and name.startswith(f)) for f in LAZY_FILES):
                continue
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines()
            for fn in ast.walk(ast.parse(text)):
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    found += [
                        f"{name}:{node.lineno} {ast.unparse(node)}"
                        for node in ast.walk(fn)
                        if isinstance(node, ast.Import | ast.ImportFrom)
                        and "# lazy:" not in lines[node.lineno - 1]
                        and "# lazy:" not in lines[node.lineno - 2]
                    ]
    assert found == []


def test_no_module_of_the_domain_imports_itself_back():
    """No import cycle between modules of crm/, across packages too (the contracts check the
    layers and each package's own modules; this checks every module pair)."""
    import grimp

    graph = grimp.build_graph("crm", cache_dir=None)
    cycles = sorted(
        f"{a} -> {b} -> … -> {a}"
        for a in graph.modules
        for b in graph.find_modules_directly_imported_by(a)
        if a != b and graph.chain_exists(importer=b, imported=a)
    )
    assert cycles == []


@pytest.mark.slow
def test_mypy_is_clean():
    out = run(sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache"))
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


@pytest.mark.slow
def test_mypy_reads_a_column_on_a_table_class_as_a_column(tmp_path):
    """scripts/mypy_columns.py: ``Firm.id`` on the class is a column (``Firm.id.in_(…)`` checks),
    on a row it is the value; ``col(Firm.id)`` is the same column; ``Firm.__table__`` the table."""
    snippet = textwrap.dedent(
        """
        from sqlmodel import col
        from crm.models.firms import Firm

        def f(row: Firm) -> None:
            reveal_type(Firm.id)
            reveal_type(row.id)
            reveal_type(col(Firm.id))
            reveal_type(Firm.id.in_([1, 2]))
            reveal_type(Firm.__table__)
        """
    )
    (tmp_path / "columns.py").write_text(snippet, encoding="utf-8")
    out = run(sys.executable, "-m", "mypy", "--cache-dir", str(ROOT / ".mypy_cache"), str(tmp_path))
    revealed = [
        line.split("Revealed type is ")[1] for line in out.stdout.splitlines() if "Revealed" in line
    ]
    assert revealed == [
        '"sqlalchemy.orm.attributes.InstrumentedAttribute[int | None]"',
        '"int | None"',
        '"sqlalchemy.orm.attributes.InstrumentedAttribute[int | None]"',
        '"sqlalchemy.sql.elements.BinaryExpression[bool]"',
        '"sqlalchemy.sql.schema.Table[Any]"',
    ], out.stdout


# A versioned update of one row goes through crm.changes.apply_change (ARCHITECTURE.md,
# "a change to a versioned row"). The set-based Core UPDATEs (``.values(version=Model.version
# + 1)`` over many rows: crm/reassign/bulk.py, moving.py) are allowed by their form. The hand
# bumps still here, each counted so a new one in the same file fails too: the merge's survivor
# (one ``merge`` audit document that undo reads back), the officer's deactivation inside the
# handover (audited in the handover's one ``deactivate`` row) and the policy pack sync (no
# audit row per firm). Remove an entry when its file moves onto apply_change.
HAND_BUMPS = {
    "crm/changes.py": 1,
    "crm/firms/merge.py": 1,
    "crm/reassign/handover.py": 1,
    "crm/policy/service.py": 1,
}
_BUMP = re.compile(r"\bversion\s*(\+=|=\s*[\w.]*\bversion\s*\+)")
_SET_BASED = re.compile(r"\.values\(.*\bversion=\w+\.version \+ 1")


def hand_bumps(root: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for path in sorted((root / "crm").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for line in path.read_text(encoding="utf-8").splitlines():
            if _BUMP.search(line) and not _SET_BASED.search(line):
                found[rel] = found.get(rel, 0) + 1
    return found


def test_every_versioned_update_of_one_row_goes_through_apply_change():
    found = hand_bumps(ROOT)
    extra = {k: n for k, n in found.items() if n > HAND_BUMPS.get(k, 0)}
    assert not extra, f"bump the version through crm.changes.apply_change, not by hand: {extra}"


def test_a_new_hand_bump_is_caught(tmp_path):
    pkg = tmp_path / "crm" / "things"
    pkg.mkdir(parents=True)
    (pkg / "service.py").write_text(
        "def f(row, s, M):\n"
        "    row.version += 1\n"
        "    row.session_version += 1\n"
        "    row.version = row.version + 1\n"
        "    s.execute(update(M).values(owner_id=1, version=M.version + 1))\n"
    )
    assert hand_bumps(tmp_path) == {"crm/things/service.py": 2}
