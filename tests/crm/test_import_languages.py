"""Imports read both languages' headers through one map (crm.exports.LABELS beside each
importer's own words): the firm list exported for an English reader — English headers, tiers
and cluster names — imports back into an empty database as the same firms, and the three import
templates come in the reader's language with headers the import reads."""

from __future__ import annotations

import io
import re

import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import delete, select

from crm.firms.export import export_firms
from crm.firms.queries import FirmFilters
from crm.imports.reader import header_key
from crm.imports.service import IMPORTERS, run_import
from crm.imports.templates import headers, template_workbook
from crm.models.firms import Firm, FirmAlias, FirmCluster
from crm.models.policy import Cluster
from tests.factories import make_department, make_user

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ACCEPTED = {
    "firms": "FIRM_HEADERS",
    "contacts": "CONTACT_HEADERS",
    "projects": "PROJECT_HEADERS",
}


def _sheet(data: bytes) -> list[list[str]]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return [[str(c) for c in row] for row in wb.get_sheet_by_index(0).to_python()]


def _firms(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    session.expire_all()
    parent = {f.id: f.name_zh for f in session.scalars(select(Firm))}
    out = []
    for f in session.scalars(select(Firm).order_by(Firm.name_zh)):
        aliases = sorted(session.scalars(select(FirmAlias.alias).where(FirmAlias.firm_id == f.id)))
        clusters = sorted(
            session.scalars(
                select(Cluster.code)
                .join(FirmCluster, FirmCluster.cluster_id == Cluster.id)
                .where(FirmCluster.firm_id == f.id)
            )
        )
        out.append(
            (
                f.name_zh,
                f.name_en,
                aliases,
                clusters,
                f.global500_rank,
                f.is_leader,
                f.tier,
                parent.get(f.parent_id),
                f.owner_id,
                f.website,
            )
        )
    return out


def test_the_firm_list_exported_in_english_imports_back(session):
    manager = make_user(session, "manager", make_department(session), display_name="王处长")
    session.commit()
    body = (
        "企业名称,英文名称,别名,世界500强排名,行业龙头,产业集群,所属集团,负责人,网站\n"
        f'惠普,"Hewlett-Packard Co., Ltd.",HP;惠普公司,26,否,NB、COMM,,{manager.username},'
        "https://www.hp.com\n"
        "长安汽车,Changan,长安,,是,NEV,,,\n"
        "四联仪表,Sichuan Instrument,,,,INST,长安汽车,,\n"
    )
    rep = run_import(session, manager, "firms", body.encode(), "firms.csv")
    assert not rep.rejected, [(e.row, str(e.message)) for e in rep.rejected]
    session.commit()
    before = _firms(session)
    assert len(before) == 3

    data = export_firms(session, manager, FirmFilters(lang="en"))
    session.commit()
    rows = _sheet(data)
    assert rows[0][:3] == ["ID", "Chinese name", "English name"]
    typed = sorted(
        {manager.display_name, *(f[0] for f in before), *(a for f in before for a in f[2])},
        key=len,
        reverse=True,
    )
    for row in rows:  # headers, tiers, "yes", cluster names: English; the names as typed
        for cell in row:
            for name in typed:
                cell = cell.replace(name, "")
            assert not CJK.search(cell), row
    assert "Notebook computers; Communication equipment" in {r[10] for r in rows}

    session.execute(delete(FirmAlias))
    session.execute(delete(FirmCluster))
    session.execute(delete(Firm).where(Firm.parent_id.is_not(None)))
    session.execute(delete(Firm))
    session.commit()
    rep = run_import(session, manager, "firms", data, "firms-en.xlsx")
    assert not rep.rejected, [(e.row, str(e.message)) for e in rep.rejected]
    session.commit()
    assert _firms(session) == before


@pytest.mark.parametrize("kind", sorted(IMPORTERS))
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_import_templates_in_the_readers_language(kind, lang):
    module = __import__(f"crm.imports.{kind}", fromlist=[ACCEPTED[kind]])
    accepted = {header_key(h) for h in getattr(module, ACCEPTED[kind])}
    rows = _sheet(template_workbook(kind, lang))
    assert rows[0] == headers(kind, lang)
    assert all(header_key(h) in accepted for h in rows[0]), rows[0]
    if lang == "en":
        assert not any(CJK.search(h) for h in rows[0]), rows[0]
    else:
        assert all(CJK.search(h) for h in rows[0]), rows[0]
