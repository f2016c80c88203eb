"""``crm briefing --week … --out FILE.pdf``: one A4 page that renders Chinese (its text extracted
by pdftotext, the page rasterised by pdftoppm, the CJK font embedded), and the same as Excel."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta

from openpyxl import load_workbook
from PIL import Image
from typer.testing import CliRunner

from cli.main import app
from tests.crm.test_briefing import week_world


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def test_briefing_pdf_one_page_with_chinese_headings(session, tmp_path):
    w, monday = week_world(session)
    out = tmp_path / "brief.pdf"
    res = CliRunner().invoke(
        app,
        [
            "briefing",
            "--week",
            str(monday + timedelta(days=3)),
            "--out",
            str(out),
            "--as",
            w.manager.username,
        ],
    )
    assert res.exit_code == 0, res.output
    assert "Pages:           1" in _run("pdfinfo", str(out))  # one page
    assert "A4" in _run("pdfinfo", str(out))
    text = _run("pdftotext", "-layout", str(out), "-")
    for heading in (
        "招商工作周报",
        "一、集群覆盖变化",
        "二、新签约与新落地",
        "四、逾期项目",
        "五、撞单",
        "六、各部门接触记录",
    ):
        assert heading in text, heading
    assert "青松" in text and "环球己" not in text  # the confidential project: code name only
    assert str(monday) in text
    fonts = _run("pdffonts", str(out))
    assert "CJK" in fonts and " yes " in fonts  # the CJK font is embedded (no empty boxes)
    _run("pdftoppm", "-png", "-r", "40", "-singlefile", str(out), str(tmp_path / "page"))
    with Image.open(tmp_path / "page.png") as img:
        grey = img.convert("L")
        assert grey.size[1] > grey.size[0]  # portrait
        dark = sum(grey.histogram()[:128])  # pixels darker than mid-grey
        assert dark > 2000  # text and the chart tiles were drawn

    xlsx = tmp_path / "brief.xlsx"
    res = CliRunner().invoke(
        app, ["briefing", "--out", str(xlsx), "--as", w.manager.username, "--cluster", "NB"]
    )
    assert res.exit_code == 0, res.output
    wb = load_workbook(io.BytesIO(xlsx.read_bytes()))
    summary = {r[0]: r[1] for r in wb["周报摘要"].iter_rows(min_row=2, values_only=True)}
    assert summary["新签约项目"] == 1 and summary["新签约计划投资(亿元)"] == 100


def test_briefing_refused_to_an_officer(session, tmp_path):
    w, _ = week_world(session)
    res = CliRunner().invoke(
        app, ["briefing", "--out", str(tmp_path / "x.pdf"), "--as", w.officer1.username]
    )
    assert res.exit_code == 1


def test_a_bad_out_path_is_a_message_and_writes_nothing(session, tmp_path):
    """ATTACK7 P3-13: a folder that is not there was a traceback; a ``.txt`` got a PDF."""
    w, monday = week_world(session)
    base = ["briefing", "--week", str(monday), "--as", w.manager.username, "--out"]
    res = CliRunner().invoke(app, [*base, str(tmp_path / "nonexist" / "x.pdf")])
    assert res.exit_code == 1 and "no such folder" in res.output, res.output
    assert "Traceback" not in res.output and not (tmp_path / "nonexist").exists()
    res = CliRunner().invoke(app, [*base, str(tmp_path / "b.txt")])
    assert res.exit_code == 1 and ".pdf or .xlsx" in res.output, res.output
    assert not (tmp_path / "b.txt").exists()
