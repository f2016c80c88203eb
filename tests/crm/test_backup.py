"""A backup restores: rows changed after the backup are gone after the restore."""

from __future__ import annotations

from sqlalchemy import func, select

from crm.backup import backup, restore
from crm.config import get_settings
from crm.db import reset_engine
from crm.firms.models import Firm
from tests.factories import make_firm


def test_backup_then_restore_round_trip(session, tmp_path):
    make_firm(session, "备份前的企业")
    session.commit()
    url = get_settings().database_url
    target = tmp_path / ("b.db" if url.startswith("sqlite") else "b.dump")
    backup(url, target)
    assert target.stat().st_size > 0
    make_firm(session, "备份后的企业")
    session.commit()
    session.close()
    reset_engine()  # the app would be stopped for a restore
    restore(url, target)
    reset_engine()
    from sqlmodel import Session

    from crm.db import get_engine

    with Session(get_engine()) as s:
        names = set(s.scalars(select(Firm.name_zh)))
        assert "备份前的企业" in names and "备份后的企业" not in names
        assert s.scalar(select(func.count()).select_from(Firm)) == 1
