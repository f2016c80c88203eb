"""The weekly briefing as a one-page A4 PDF (fpdf2) that renders Chinese, with its charts as
images (drawn with Pillow), and as an Excel workbook.

The CJK font is the system's Noto Sans CJK (Debian ``fonts-noto-cjk``, which ``dev.sh`` and CI
install), or the file named by ``CRM_PDF_FONT``. fpdf2 embeds only the glyphs used.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont

from crm.clock import to_local
from crm.errors import CRMError
from crm.i18n import _l, current_language
from crm.i18n import gettext as _
from crm.reports.briefing import Briefing
from crm.reports.columns import INDICATORS, Column, Sheet, sheet, stage_column, stage_name
from crm.reports.words import STAGE_ZH, STATUS_ZH

FONT_CANDIDATES = (
    # (file, face index in a collection: Simplified Chinese)
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/System/Library/Fonts/PingFang.ttc", 0),
)
STATUS_COLOUR = {"covered": (31, 122, 77), "pursuing": (181, 71, 8), "gap": (180, 35, 24)}

# in English a stage or a coverage state is called by its key ("negotiating", "gap")
STAGE_EN = {key: key for key in STAGE_ZH}
STATUS_EN = {key: key for key in STATUS_ZH}
LABELS = {
    "zh": {
        "title": "招商工作周报",
        "new": "新增项目",
        "signed": "新签约",
        "landed": "新落地",
        "capital": "到资",
        "overdue": "逾期项目",
        "conflicts": "撞单",
        "contacts": "接触记录",
        "coverage": "一、集群覆盖变化",
        "no_change": "本周无覆盖状态变化",
        "deals": "二、新签约与新落地",
        "moves": "三、最大变动（按计划投资）",
        "late": "四、逾期项目（承诺日期已过）",
        "conf": "五、撞单",
        "dept": "六、各部门接触记录",
        "yi": "亿元",
        "none": "无",
        "inv": "计划投资",
        "out": "预计产值",
        "more": "等，共 {n} 项",
        "promised_land": "承诺落地",
        "promised_op": "承诺投产",
        "generated": "生成于",
        "city": "全市",
    },
    "en": {
        "title": "Weekly investment briefing",
        "new": "New projects",
        "signed": "Signed",
        "landed": "Landed",
        "capital": "Capital arrived",
        "overdue": "Overdue",
        "conflicts": "Conflicts",
        "contacts": "Contacts",
        "coverage": "1. Coverage changes",
        "no_change": "No cluster changed status this week",
        "deals": "2. New signings and landings",
        "moves": "3. Largest movements (planned investment)",
        "late": "4. Overdue against promised dates",
        "conf": "5. Conflicts opened",
        "dept": "6. Contacts per department",
        "yi": "100m CNY",
        "none": "none",
        "inv": "planned",
        "out": "output",
        "more": "… {n} in all",
        "promised_land": "promised landing",
        "promised_op": "promised operation",
        "generated": "generated",
        "city": "City-wide",
    },
}


class NoFont(CRMError):
    status = 500


@lru_cache
def cjk_font() -> tuple[str, int]:
    """The CJK font file (and face) the PDF and its charts use."""
    named = os.environ.get("CRM_PDF_FONT")
    if named:
        return named, int(os.environ.get("CRM_PDF_FONT_INDEX", "0"))
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return path, index
    raise NoFont(_l("未找到中文字体，请安装 fonts-noto-cjk 或设置 CRM_PDF_FONT"))


def money(v: Decimal | None) -> str:
    if v is None:
        return "—"
    return f"{Decimal(v).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


# --- charts (PNG) ----------------------------------------------------------------------------


def _font(size: int) -> Any:
    path, index = cjk_font()
    return ImageFont.truetype(path, size, index=index)


def coverage_chart(b: Briefing, names: dict[str, str], lang: str) -> bytes:
    """The clusters as tiles coloured by their status at the end of the week; a changed one
    carries its status before."""
    codes = list(b.coverage)
    cols = 6 if len(codes) > 1 else 1
    rows = (len(codes) + cols - 1) // cols
    tw, th, gap = 300, 110, 12
    img = Image.new("RGB", (cols * (tw + gap) + gap, rows * (th + gap) + gap), "white")
    d = ImageDraw.Draw(img)
    f1, f2 = _font(30), _font(24)
    before = {c.code: c.before for c in reversed(b.coverage_changes)}  # the first change's
    status_names = STATUS_ZH if lang != "en" else STATUS_EN
    for i, code in enumerate(codes):
        x, y = gap + (i % cols) * (tw + gap), gap + (i // cols) * (th + gap)
        st = b.coverage[code]
        d.rounded_rectangle((x, y, x + tw, y + th), 14, fill=STATUS_COLOUR[st])
        d.text((x + 14, y + 12), names.get(code, code)[:9], font=f1, fill="white")
        line = status_names[st]
        if code in before:
            line = f"{status_names[before[code]]} → {line}"
        d.text((x + 14, y + 62), line, font=f2, fill="white")
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def contacts_chart(b: Briefing) -> bytes:
    """Horizontal bars: the week's contacts per department (the eight largest)."""
    rows = b.contacts[:8] or []
    w, bar, gap, left = 1200, 34, 12, 360
    h = max(1, len(rows)) * (bar + gap) + gap
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    f = _font(24)
    top = max((r.contacts for r in rows), default=1) or 1
    for i, r in enumerate(rows):
        y = gap + i * (bar + gap)
        d.text((10, y + 2), r.department[:14], font=f, fill=(52, 64, 84))
        length = int((w - left - 90) * r.contacts / top)
        d.rectangle((left, y, left + max(length, 2), y + bar), fill=(46, 144, 250))
        d.text((left + length + 10, y + 2), str(r.contacts), font=f, fill=(52, 64, 84))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


# --- the page --------------------------------------------------------------------------------


def stamp(at: datetime) -> str:
    """When the briefing was made, in local time (CRM_TIMEZONE, Asia/Shanghai; SPEC §7)."""
    return f"{to_local(at):%Y-%m-%d %H:%M}"


GREY = (102, 112, 133)
INK = (16, 24, 40)


class _Page:
    """One A4 page and the few ways the briefing writes on it."""

    def __init__(self, title: str) -> None:
        path, index = cjk_font()
        pdf = FPDF(format="A4", unit="mm")
        pdf.set_auto_page_break(False)
        pdf.set_margins(12, 10, 12)
        pdf.add_page()
        pdf.add_font("cjk", fname=path, collection_font_number=index)
        pdf.set_title(title)
        self.pdf = pdf
        self.width = pdf.w - 24
        self.bottom = pdf.h - 10

    def font(self, size: float, colour: tuple[int, int, int] = INK) -> None:
        self.pdf.set_font("cjk", size=size)
        self.pdf.set_text_color(*colour)

    def heading(self, text: str) -> None:
        pdf = self.pdf
        pdf.ln(1.5)
        self.font(11.5, (16, 66, 140))
        pdf.cell(self.width, 6.5, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(200, 210, 225)
        pdf.line(12, pdf.get_y(), 12 + self.width, pdf.get_y())
        pdf.ln(0.8)

    def line(self, text: str, size: float = 8.5, colour: tuple[int, int, int] = INK) -> bool:
        """One line of text, if it still fits on the page."""
        if self.pdf.get_y() + 4.6 > self.bottom:
            return False
        self.font(size, colour)
        self.pdf.cell(self.width, 4.4, text[:110], new_x="LMARGIN", new_y="NEXT")
        return True


def _title_and_figures(page: _Page, b: Briefing, t: dict[str, str], lang: str) -> None:
    """The title, the week and the key figures in a row of boxes."""
    pdf, width = page.pdf, page.width
    scope = (
        t["city"] if b.scope == "city" else (b.scope_name_zh if lang != "en" else b.scope_name_en)
    )
    page.font(17)
    pdf.cell(width, 9, f"{t['title']} · {scope}", new_x="LMARGIN", new_y="NEXT")
    page.font(9, GREY)
    pdf.cell(
        width,
        5,
        f"{b.week_start} — {b.week_end}   {t['generated']} {stamp(b.generated_at)}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(1)
    figures = [
        (t["new"], str(b.new_projects)),
        (t["signed"], f"{b.signings_total.count} · {money(b.signings_total.planned_investment)}"),
        (t["landed"], f"{b.landings_total.count} · {money(b.landings_total.planned_investment)}"),
        (t["capital"], money(b.capital_arrived)),
        (t["overdue"], str(b.overdue_count)),
        (t["conflicts"], str(b.conflicts_count)),
        (t["contacts"], str(b.contacts_total)),
    ]
    box = width / len(figures)
    y0 = pdf.get_y()
    for i, (label, value) in enumerate(figures):
        x = 12 + i * box
        pdf.set_fill_color(240, 244, 248)
        pdf.rect(x + 0.5, y0, box - 1, 13, style="F")
        pdf.set_xy(x + 1.5, y0 + 1)
        page.font(7.5, GREY)
        pdf.cell(box - 3, 4, label)
        pdf.set_xy(x + 1.5, y0 + 5.5)
        page.font(10.5)
        pdf.cell(box - 3, 6, value)
    pdf.set_xy(12, y0 + 14)
    page.font(7, GREY)
    pdf.cell(width, 3.5, f"({t['yi']})", new_x="LMARGIN", new_y="NEXT")


def _coverage(
    page: _Page, b: Briefing, t: dict[str, str], names: dict[str, str], lang: str
) -> None:
    pdf = page.pdf
    page.heading(t["coverage"])
    png = coverage_chart(b, names, lang)
    with Image.open(io.BytesIO(png)) as im:
        ratio = im.height / im.width
    chart_w = page.width if len(b.coverage) > 1 else 60
    pdf.image(io.BytesIO(png), x=12, y=pdf.get_y(), w=chart_w, h=chart_w * ratio)
    pdf.set_y(pdf.get_y() + chart_w * ratio + 1)
    if not b.coverage_changes:
        page.line(t["no_change"], colour=GREY)
    sn = STATUS_ZH if lang != "en" else STATUS_EN
    for c in b.coverage_changes:
        name = c.name_zh if lang != "en" else c.name_en
        page.line(f"· {name}: {sn[c.before]} → {sn[c.after]}")


def _deals(page: _Page, b: Briefing, t: dict[str, str], names: dict[str, str]) -> None:
    """Signings and landings: their totals and the first five of each."""
    page.heading(t["deals"])
    for label, rows, tot in (
        (t["signed"], b.signings, b.signings_total),
        (t["landed"], b.landings, b.landings_total),
    ):
        page.line(
            f"{label} {tot.count} — {t['inv']} {money(tot.planned_investment)} · "
            f"{t['out']} {money(tot.expected_output)} {t['yi']}",
            9,
        )
        for p in rows[:5]:
            page.line(
                f"   · {p.label}  {names.get(p.cluster, p.cluster)}"
                f"{' · ' + p.park if p.park else ''}  {t['inv']} {money(p.planned_investment)}"
            )
        if tot.count > 5:
            page.line("   " + t["more"].format(n=tot.count), colour=GREY)


def _lists(page: _Page, b: Briefing, t: dict[str, str], names: dict[str, str], lang: str) -> None:
    """Stage movements, late projects and conflicts, a few lines each."""
    stage = STAGE_ZH if lang != "en" else STAGE_EN
    page.heading(t["moves"])
    if not b.movements:
        page.line(t["none"], colour=GREY)
    for m in b.movements[:6]:
        page.line(
            f"· {m.label}  {names.get(m.cluster, m.cluster)}  "
            f"{stage.get(m.from_stage or '', '')} → {stage.get(m.stage, m.stage)}  "
            f"{t['inv']} {money(m.planned_investment)}"
        )
    page.heading(t["late"] + f" — {b.overdue_count}")
    for late in b.overdue[:5]:
        when = (
            f"{t['promised_land']} {late.expected_land_date}"
            if late.late_landing
            else f"{t['promised_op']} {late.expected_operate_date}"
        )
        page.line(f"· {late.label}  {names.get(late.cluster, late.cluster)}  {when}")
    page.heading(t["conf"] + f" — {b.conflicts_count}")
    for c in b.conflicts[:3]:
        page.line(f"· {c.label}  {names.get(c.cluster, c.cluster)}  {c.opened_at:%Y-%m-%d}")


def _contacts(page: _Page, b: Briefing, t: dict[str, str]) -> None:
    """Contacts per department: the chart, as far as the page still has room."""
    pdf = page.pdf
    page.heading(t["dept"] + f" — {b.contacts_total}")
    if b.contacts and pdf.get_y() + 12 < page.bottom:
        png = contacts_chart(b)
        with Image.open(io.BytesIO(png)) as im:
            ratio = im.height / im.width
        h = min(page.width * ratio, page.bottom - pdf.get_y())
        pdf.image(io.BytesIO(png), x=12, y=pdf.get_y(), w=h / ratio, h=h)


def to_pdf(b: Briefing, names: dict[str, str], lang: str = "zh") -> bytes:
    """The briefing on one A4 page. ``names``: cluster code → its name in ``lang``."""
    t = LABELS["en" if lang == "en" else "zh"]
    page = _Page(f"{t['title']} {b.week_start}")
    _title_and_figures(page, b, t, lang)
    _coverage(page, b, t, names, lang)
    _deals(page, b, t, names)
    _lists(page, b, t, names, lang)
    _contacts(page, b, t)
    return bytes(page.pdf.output())


# --- Excel -----------------------------------------------------------------------------------


# the columns the briefing's project sheets share
NAMED = [Column(_l("项目"), lambda p: p.label), Column(_l("集群"), lambda p: p.cluster)]
STAGE = stage_column()
INVESTMENT = Column(_l("计划投资(亿元)"), lambda p: p.planned_investment)
AT = Column(_l("时间"), lambda p: p.at)
# a signed or landed project of the week
DEALS = [
    *NAMED,
    Column(_l("园区"), lambda p: p.park or ""),
    STAGE,
    INVESTMENT,
    Column(_l("预计产值(亿元)"), lambda p: p.expected_output),
    AT,
]
MOVES = [
    *NAMED,
    Column(_l("从阶段"), lambda m: _(STAGE_ZH.get(m.from_stage or "", ""))),
    Column(_l("到阶段"), lambda m: stage_name(m.stage)),
    INVESTMENT,
    AT,
]
LATE = [
    *NAMED,
    STAGE,
    Column(_l("承诺落地日期"), lambda p: p.expected_land_date),
    Column(_l("承诺投产日期"), lambda p: p.expected_operate_date),
]
CONFLICTS = [*NAMED, Column(_l("开立时间"), lambda c: c.opened_at)]
CONTACTS = [
    Column(_l("部门"), lambda d: d.department),
    Column(_l("接触记录数"), lambda d: d.contacts),
]


def sheets(b: Briefing) -> list[Sheet]:
    """The briefing's tables, one sheet each (the workbook lists what the page lists, and every
    total)."""
    summary = [
        (_("周"), f"{b.week_start} — {b.week_end}"),
        (_("范围"), b.scope_name_en if current_language() == "en" else b.scope_name_zh),
        (_("新增项目"), b.new_projects),
        (_("新签约项目"), b.signings_total.count),
        (_("新签约计划投资(亿元)"), b.signings_total.planned_investment),
        (_("新签约预计产值(亿元)"), b.signings_total.expected_output),
        (_("新落地项目"), b.landings_total.count),
        (_("新落地计划投资(亿元)"), b.landings_total.planned_investment),
        (_("新落地预计产值(亿元)"), b.landings_total.expected_output),
        (_("到资(亿元)"), b.capital_arrived),
        (_("到资笔数"), b.capital_entries),
        (_("阶段变动"), b.movements_count),
        (_("逾期项目"), b.overdue_count),
        (_("撞单"), b.conflicts_count),
        (_("接触记录"), b.contacts_total),
    ]
    before = {c.code: c.before for c in reversed(b.coverage_changes)}  # the first change's
    coverage = [
        Column(_l("集群代码"), lambda x: x[0]),
        Column(_l("周初状态"), lambda x: _(STATUS_ZH[before.get(x[0], x[1])])),
        Column(_l("周末状态"), lambda x: _(STATUS_ZH[x[1]])),
    ]
    return [
        sheet(_l("周报摘要"), INDICATORS, summary),
        sheet(_l("集群覆盖"), coverage, b.coverage.items()),
        sheet(_l("新签约"), DEALS, b.signings),
        sheet(_l("新落地"), DEALS, b.landings),
        sheet(_l("最大变动"), MOVES, b.movements),
        sheet(_l("逾期项目"), LATE, b.overdue),
        sheet(_l("撞单"), CONFLICTS, b.conflicts),
        sheet(_l("各部门接触"), CONTACTS, b.contacts),
    ]
