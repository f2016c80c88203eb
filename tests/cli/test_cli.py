"""The ``crm`` command lives outside the domain (``cli/``) and still offers every command."""

from __future__ import annotations

from typer.testing import CliRunner

from cli.main import app
from crm.demo import DEMO_PASSWORD, demo_login
from crm.demo.password import DEMO_PASSWORD as THE_PASSWORD


def test_every_command_is_offered():
    out = CliRunner().invoke(app, ["--help"])
    assert out.exit_code == 0, out.output
    for cmd in ("migrate", "load-pack", "demo", "add-user", "add-department", "bench", "serve"):
        assert cmd in out.output
    for cmd in ("jobs", "start", "import", "backup", "restore"):
        assert cmd in out.output


def test_one_demo_password_for_the_generator_the_command_and_the_readme():
    assert DEMO_PASSWORD is THE_PASSWORD
    assert {p for _, _, p in demo_login()} == {DEMO_PASSWORD}
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"password `{DEMO_PASSWORD}`" in readme
