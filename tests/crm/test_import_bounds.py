"""Hostile files: each is refused with a message naming the limit, and the process that reads
them all stays under 512 MB of peak memory (VmHWM, measured in a real subprocess)."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from crm.errors import ValidationFailed
from crm.imports.bounds import Limits, check_workbook
from crm.imports.reader import read_rows
from crm.imports.service import FIRM_HEADERS

ROOT = Path(__file__).resolve().parents[2]

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/'
    'workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
    'sheet1.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main">'
)


def workbook(sheet_parts, extra: dict[str, object] | None = None) -> bytes:
    """A hand-built .xlsx whose sheet is written from ``sheet_parts`` (strings or bytes, streamed
    into the archive so a huge sheet never sits in memory) plus ``extra`` parts."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WB_RELS)
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            for part in sheet_parts:
                f.write(part.encode() if isinstance(part, str) else part)
        for name, parts in (extra or {}).items():
            with zf.open(name, "w", force_zip64=True) as f:
                for part in parts:
                    f.write(part)
    return buf.getvalue()


def sparse_far_cell(declared: str | None) -> bytes:
    dim = f'<dimension ref="{declared}"/>' if declared else ""
    return workbook(
        [
            SHEET_HEAD,
            dim,
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>企业名称</t></is></c></row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>',
        ]
    )


def zeros(total: int, chunk: int = 1 << 22):
    block = b"\0" * chunk
    for _ in range(total // chunk):
        yield block


def lying_sizes(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size the archive declares for ``name`` (local header and
    central directory), leaving the data as it is."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        info = zf.getinfo(name)
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        enc = name.encode()
        while (pos := out.find(sig, pos)) != -1:
            n_off = 30 if sig == b"PK\x03\x04" else 46
            nlen = struct.unpack_from("<H", out, pos + (26 if n_off == 30 else 28))[0]
            if bytes(out[pos + n_off : pos + n_off + nlen]) == enc:
                # zip64 entries keep their real sizes in the extra field: patch both
                struct.pack_into("<I", out, pos + off, min(size, 0xFFFFFFFE))
                elen = struct.unpack_from("<H", out, pos + (28 if n_off == 30 else 30))[0]
                ext = pos + n_off + nlen
                end = ext + elen
                while ext + 4 <= end:
                    hid, hlen = struct.unpack_from("<HH", out, ext)
                    if hid == 1 and hlen >= 8:
                        struct.pack_into("<Q", out, ext + 4, size)
                    ext += 4 + hlen
                struct.pack_into("<I", out, pos + off, size)
            pos += 4
    assert info.file_size != size
    return bytes(out)


def hostile_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """name → (file, a word the refusal must contain)."""
    files: dict[str, tuple[str, bytes, str]] = {}
    files["far-cell"] = ("far.xlsx", sparse_far_cell("A1:XFD1048576"), "1,048,576")
    files["far-cell-undeclared"] = ("far2.xlsx", sparse_far_cell("A1"), "1,048,576")
    files["zip-bomb"] = (
        "bomb.xlsx",
        workbook([SHEET_HEAD, "<sheetData/></worksheet>"], {"xl/media/z.bin": zeros(2 << 30)}),
        "2,147,",
    )
    files["ratio-bomb"] = (
        "ratio.xlsx",
        workbook([SHEET_HEAD, "<sheetData/></worksheet>"], {"xl/media/z.bin": zeros(64 << 20)}),
        "200",
    )
    small = workbook([SHEET_HEAD, "<sheetData/></worksheet>"], {"xl/media/z.bin": zeros(256 << 20)})
    files["lying-size"] = ("lying.xlsx", lying_sizes(small, "xl/media/z.bin", 1000), "size")
    row = "<row>" + "<c/>" * 250 + "</row>"
    files["100M-cells"] = (
        "cells.xlsx",
        workbook([SHEET_HEAD, "<sheetData>", *([row * 1000] * 400), "</sheetData></worksheet>"]),
        "limit",
    )
    files["too-many-columns"] = (
        "wide.xlsx",
        workbook([SHEET_HEAD, "<sheetData><row>", "<c/>" * 300, "</row></sheetData></worksheet>"]),
        "256",
    )
    files["csv-200KB-field"] = (
        "field.csv",
        ("企业名称,备注\n甲公司,短\n乙公司," + "x" * 200_000 + "\n").encode(),
        "131,072",
    )
    files["csv-unclosed-quote"] = (
        "quote.csv",
        '企业名称,备注\n甲公司,"没有闭合\n乙公司,备注\n'.encode(),
        "第 2 行",
    )
    files["random-xlsx"] = ("random.xlsx", os.urandom(1 << 20), ".xlsx")
    files["random-csv"] = ("random.csv", os.urandom(1 << 20), "")
    files["utf-16"] = ("utf16.csv", "企业名称\t备注\n甲公司\t好\n".encode("utf-16"), "UTF-16")
    out = {}
    for key, (name, data, word) in files.items():
        path = tmp / name
        path.write_bytes(data)
        out[key] = (path, word)
    return out


PROBE = """
import json, sys, time
from pathlib import Path
from crm.errors import ValidationFailed
from crm.imports.reader import read_rows
from crm.imports.service import FIRM_HEADERS

out = {}
for name, path in json.loads(sys.argv[1]).items():
    t0 = time.perf_counter()
    try:
        sheet = read_rows(Path(path).read_bytes(), Path(path).name, FIRM_HEADERS)
        result = "read %d rows" % len(sheet.rows)
    except ValidationFailed as exc:
        # the message in both of the reader's languages (each is a catalogue entry)
        result = "refused: " + exc.message.render("zh_CN") + " | " + exc.message.render("en")
    out[name] = {"result": result, "seconds": round(time.perf_counter() - t0, 2)}
status = Path("/proc/self/status").read_text()
out["VmHWM_kB"] = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
print(json.dumps(out, ensure_ascii=False))
"""


def test_hostile_files_are_refused_and_the_reader_stays_under_512_mb(tmp_path):
    files = hostile_files(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps({k: str(p) for k, (p, _w) in files.items()})],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    print(json.dumps(out, ensure_ascii=False, indent=1))  # the figures, with -s
    for key, (_path, word) in files.items():
        result = out[key]["result"]
        assert result.startswith("refused: "), (key, result)
        assert word in result, (key, result)
        assert "Traceback" not in result
    assert out["VmHWM_kB"] < 512 * 1024, out["VmHWM_kB"]


def test_limits_each_refuse_with_their_name():
    ok = [["企业名称", "备注"], *[[f"公司{i}", "x"] for i in range(30)]]
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet()
    for r, row in enumerate(ok):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.close()
    data = buf.getvalue()
    check_workbook(data)  # a plain workbook passes
    with pytest.raises(ValidationFailed, match="行数"):
        check_workbook(data, Limits(max_sheet_rows=10))
    with pytest.raises(ValidationFailed, match="单元格数"):
        check_workbook(data, Limits(max_cells=40))
    with pytest.raises(ValidationFailed, match="列数"):
        check_workbook(data, Limits(max_columns=1))
    with pytest.raises(ValidationFailed, match="压缩包内文件数"):
        check_workbook(data, Limits(max_entries=3))
    with pytest.raises(ValidationFailed, match="解压后字节数"):
        check_workbook(data, Limits(max_uncompressed=2000))
    with pytest.raises(ValidationFailed, match="数据行数"):
        read_rows(data, "a.xlsx", FIRM_HEADERS, Limits(max_rows=20))
    assert len(read_rows(data, "a.xlsx", FIRM_HEADERS).rows) == 30


def test_a_declared_dimension_alone_is_refused_before_the_cells_are_read():
    data = workbook(
        [SHEET_HEAD, '<dimension ref="A1:IV300000"/><sheetData></sheetData></worksheet>']
    )
    with pytest.raises(ValidationFailed, match="声明的行数"):
        check_workbook(data)


def test_a_doctype_is_refused():
    data = workbook(
        [
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>',
            SHEET_HEAD.split("?>", 1)[1],
            "<sheetData/></worksheet>",
        ]
    )
    with pytest.raises(ValidationFailed, match="文档类型声明"):
        check_workbook(data)


@pytest.mark.parametrize(
    ("name", "data", "word"),
    [
        ("a.csv", b'\xef\xbb\xbf\xe4\xbc\x81\xe4\xb8\x9a\xe5\x90\x8d\xe7\xa7\xb0\n"x', "引号"),
        ("a.xls", b"\xd0\xcf\x11\xe0", ".xlsx"),
        ("a.pdf", b"%PDF", ".xlsx"),
    ],
)
def test_small_malformed_files(name, data, word):
    with pytest.raises(ValidationFailed, match=word):
        read_rows(data, name, FIRM_HEADERS)
