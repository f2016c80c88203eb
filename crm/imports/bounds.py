"""Checks that run before a workbook is parsed, so that no file can make the reader allocate
without bound: the zip archive (entries, total size, compression ratio, each entry's real size
against the size it declares) and the first sheet (its declared dimension and the cells it
really holds), read as a stream with a fixed amount of memory.

A parser that materialises the sheet (python-calamine builds a dense rows × columns grid from the
first to the last cell) is only given a file whose grid is known to be small: one cell at A1 and
one at XFD1048576 would otherwise ask for 17 billion cells."""

from __future__ import annotations

import copy
import io
import posixpath
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.parsers import expat

from crm.errors import ValidationFailed
from crm.i18n import Message, _l


@dataclass(frozen=True)
class Limits:
    """What a file may hold. The defaults fit every real office list (the import takes at
    most 200,000 rows) with room to spare and keep the reader well under 512 MB."""

    max_rows: int = 200_000  # data rows
    max_sheet_rows: int = 200_050  # the sheet's last row (title and header rows above the data)
    max_columns: int = 256
    max_cells: int = 5_000_000  # the sheet's grid: last row × last column
    max_entries: int = 1_000  # files in the .xlsx archive
    max_uncompressed: int = 300 * 1024 * 1024  # all files of the archive, decompressed
    max_ratio: int = 200  # decompressed / compressed, for any file over 1 MB decompressed
    max_field: int = 131_072  # characters in one CSV field


LIMITS = Limits()
_CHUNK = 1 << 20
_CELL_REF = re.compile(r"([A-Za-z]{1,3})([0-9]{1,7})$")


class Refused(ValidationFailed):
    """A file refused before (or while) it is read: the message says which limit and what to do."""

    def __init__(self, message: Message) -> None:
        super().__init__(message, field="file")


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _ref(ref: str) -> tuple[int, int] | None:
    m = _CELL_REF.match(ref.strip().replace("$", ""))
    if not m:
        return None
    return int(m.group(2)), _col_number(m.group(1))


def too_big(what: Message, found: int, limit: int) -> Refused:
    return Refused(
        _l(
            "文件过大：%(what)s %(found)s，上限 %(limit)s。请拆分成几个文件分别导入",
            what=what,
            found=f"{found:,}",
            limit=f"{limit:,}",
        )
    )


def _first_sheet_path(zf: zipfile.ZipFile, names: set[str], limits: Limits) -> str:
    """The part holding the workbook's first sheet (the one the import reads)."""
    sheet_path = "xl/worksheets/sheet1.xml"
    try:
        wb = _read_small(zf, "xl/workbook.xml", limits)
        rels = _read_small(zf, "xl/_rels/workbook.xml.rels", limits)
    except KeyError:
        return sheet_path
    m = re.search(rb"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"", wb) or re.search(
        rb"<(?:\w+:)?sheet\b[^>]*?:id=\"([^\"]+)\"", wb
    )
    if not m:
        return sheet_path
    rid = re.escape(m.group(1))
    for rel in re.finditer(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        tag = rel.group(0)
        if re.search(rb"\bId=\"" + rid + rb"\"", tag):
            t = re.search(rb"\bTarget=\"([^\"]+)\"", tag)
            if t:
                target = t.group(1).decode("utf-8", "replace")
                path = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else posixpath.normpath(posixpath.join("xl", target))
                )
                if path in names:
                    return path
    return sheet_path


def _read_small(zf: zipfile.ZipFile, name: str, limits: Limits) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > 10 * 1024 * 1024:
        raise too_big(_l("workbook.xml 字节数"), info.file_size, 10 << 20)
    with zf.open(info) as f:
        return f.read(10 * 1024 * 1024 + 1)


class _SheetScan:
    """Walk a sheet's XML as it streams by, keeping only counters."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.row = 0
        self.col = 0
        self.max_row = 0
        self.max_col = 0
        self.formulas = (
            False  # a formula seen: is each one's value there? (_formulas_without_value)
        )
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self.start
        self.parser.StartDoctypeDeclHandler = self.doctype
        self.parser.EntityDeclHandler = self.doctype

    def doctype(self, *args: object) -> None:
        raise Refused(_l("工作表包含文档类型声明，无法安全读取：请在Excel或WPS中重新保存"))

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local == "c":
            ref = attrs.get("r")
            pos = _ref(ref) if ref else None
            if pos is not None:
                self.col = pos[1]
                if pos[0] != self.row:  # a cell outside its row's number: believe the cell
                    self.row = pos[0]
                    self._check_row()
            else:
                self.col += 1
            if self.col > self.max_col:
                self.max_col = self.col
                lim = self.limits
                if self.max_col > lim.max_columns:
                    raise too_big(_l("列数"), self.max_col, lim.max_columns)
                self._check_cells()
        elif local == "row":
            r = attrs.get("r")
            self.row = int(r) if r and r.isdigit() else self.row + 1
            self.col = 0
            self._check_row()
        elif local == "dimension":
            self._check_declared(attrs.get("ref", ""))
        elif local == "f":
            self.formulas = True

    def _check_row(self) -> None:
        if self.row > self.max_row:
            self.max_row = self.row
            if self.max_row > self.limits.max_sheet_rows:
                raise too_big(_l("行数"), self.max_row, self.limits.max_sheet_rows)
            self._check_cells()

    def _check_cells(self) -> None:
        cells = self.max_row * self.max_col
        if cells > self.limits.max_cells:
            raise too_big(_l("单元格数（行数×列数）"), cells, self.limits.max_cells)

    def _check_declared(self, ref: str) -> None:
        last = _ref(ref.split(":")[-1]) if ref else None
        if last is None:
            return
        rows, cols = last
        lim = self.limits
        if rows > lim.max_sheet_rows:
            raise too_big(_l("声明的行数"), rows, lim.max_sheet_rows)
        if cols > lim.max_columns:
            raise too_big(_l("声明的列数"), cols, lim.max_columns)
        if rows * cols > lim.max_cells:
            raise too_big(_l("声明的单元格数"), rows * cols, lim.max_cells)

    def feed(self, data: bytes, final: bool = False) -> None:
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as exc:
            raise Refused(
                _l("工作表的XML已损坏（%(error)s）：请在Excel或WPS中重新保存", error=str(exc)[:200])
            ) from exc


def check_workbook(data: bytes, limits: Limits = LIMITS) -> None:
    """Refuse an .xlsx whose archive or first sheet is larger than ``limits`` allow; read it
    as a stream (1 MB at a time) so that the check itself is bounded."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise Refused(
            _l("不是有效的 .xlsx 文件（无法作为压缩包打开）：请在Excel或WPS中另存为 .xlsx")
        ) from exc
    with zf:
        names = _check_directory(infos, limits)
        if "xl/workbook.xml" not in names:
            raise Refused(
                _l("不是Excel工作簿（缺少 xl/workbook.xml）：请在Excel或WPS中另存为 .xlsx")
            )
        sheet = _first_sheet_path(zf, names, limits)
        if _read_parts(zf, infos, sheet, limits):
            _refuse_formulas_without_value(zf, sheet)


def _check_directory(infos: list[zipfile.ZipInfo], limits: Limits) -> set[str]:
    """What the archive's directory declares (entries, names, sizes, ratios), before any part
    is read; the parts' names."""
    if len(infos) > limits.max_entries:
        raise too_big(_l("压缩包内文件数"), len(infos), limits.max_entries)
    names = {i.filename for i in infos}
    if len(names) != len(infos):
        raise Refused(_l("压缩包内有重名文件，无法安全读取"))
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_uncompressed:
        raise too_big(_l("解压后字节数"), declared, limits.max_uncompressed)
    for i in infos:
        if i.file_size > _CHUNK and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            raise Refused(
                _l(
                    "压缩比异常（%(name)s 压缩 %(packed)s 字节，解压 %(size)s 字节，"
                    "上限 %(ratio)s 倍），疑似压缩炸弹",
                    name=i.filename[:100],
                    packed=f"{i.compress_size:,}",
                    size=f"{i.file_size:,}",
                    ratio=limits.max_ratio,
                )
            )
    return names


def _read_parts(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], sheet: str | None, limits: Limits
) -> bool:
    """Read every part to its real end, whatever size it declares (a part that decompresses to
    more than it says would otherwise get past the directory's checks), counting the bytes of
    all of them and scanning the first sheet. Returns whether the sheet holds a formula."""
    total = 0
    formulas = False
    for info in infos:
        scan = _SheetScan(limits) if info.filename == sheet else None
        probe = copy.copy(info)
        probe.file_size = limits.max_uncompressed + 1
        n = 0
        try:
            with zf.open(probe) as f:
                while chunk := f.read(_CHUNK):
                    n += len(chunk)
                    total += len(chunk)
                    if total > limits.max_uncompressed:
                        raise too_big(_l("解压后字节数"), total, limits.max_uncompressed)
                    if scan is not None:
                        scan.feed(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
            raise Refused(
                _l("压缩包已损坏（%(name)s）：请在Excel或WPS中重新保存", name=info.filename[:100])
            ) from exc
        if n != info.file_size:
            raise Refused(
                _l(
                    "压缩包内文件的大小与声明不符（%(name)s）：请在Excel或WPS中重新保存",
                    name=info.filename[:100],
                )
            )
        if scan is not None:
            scan.feed(b"", final=True)
            formulas = scan.formulas
    return formulas


class _FormulaScan:
    """The cells of a sheet holding a formula but no value: a workbook written by a program
    (openpyxl, a script) that never calculated it — the reader would see an empty cell."""

    def __init__(self) -> None:
        self.cell: str | None = None
        self.formula = self.value = self.in_value = False
        self.found: list[str] = []
        self.count = 0
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.CharacterDataHandler = self.text

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local == "c":
            self.cell, self.formula, self.value = attrs.get("r"), False, False
        elif local == "f":
            self.formula = True
        elif local in ("v", "is"):
            self.in_value = True

    def text(self, data: str) -> None:
        if self.in_value and data.strip():
            self.value = True

    def end(self, name: str) -> None:
        local = name.rpartition(":")[2]
        if local in ("v", "is"):
            self.in_value = False
        elif local == "c" and self.formula and not self.value:
            self.count += 1
            if len(self.found) < 5:
                self.found.append(self.cell or "?")


def _refuse_formulas_without_value(zf: zipfile.ZipFile, sheet: str) -> None:
    """A formula cell without its calculated value is named (the row would otherwise be
    refused for an empty required cell, which the person sees filled in Excel)."""
    scan = _FormulaScan()
    with zf.open(sheet) as f:  # its size was checked by _read_parts
        while chunk := f.read(_CHUNK):
            scan.parser.Parse(chunk, False)
    scan.parser.Parse(b"", True)
    if scan.found:
        raise Refused(
            _l(
                "单元格 %(cells)s 是公式且没有计算结果（共 %(n)s 个）："
                "请在Excel或WPS中打开并保存，或复制后“粘贴为数值”，再导入",
                cells=", ".join(scan.found),
                n=scan.count,
            )
        )
