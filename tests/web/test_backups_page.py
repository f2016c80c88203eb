"""The backup status in the admin menu: the files on disk (with or without their checksum),
the nightly job's runs, and a warning when the last complete backup is too old."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from crm.config import get_settings
from crm.models.outbox import JobRun
from crm.types import utcnow
from tests.factories import make_department, make_user


@pytest.fixture
def folder(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CRM_BACKUP_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    monkeypatch.delenv("CRM_BACKUP_DIR")
    get_settings.cache_clear()


def test_the_admin_menu_leads_to_the_backups_and_their_state(client, login, session, folder):
    admin = make_user(session, "admin")
    done = folder / "crm-20261130-023000.db"
    done.write_bytes(b"x" * 2048)
    (folder / "crm-20261130-023000.db.sha256").write_text("abc  crm-20261130-023000.db\n")
    half = folder / "crm-20261129-023000.db"
    half.write_bytes(b"x")
    old = (utcnow() - timedelta(days=3)).timestamp()
    os.utime(half, (old, old))
    now = utcnow()
    session.add(
        JobRun(
            job="nightly_backup",
            started_at=now - timedelta(hours=2),
            finished_at=now - timedelta(hours=2),
            status="error",
            detail="disk full",
        )
    )
    session.commit()
    login(admin)
    assert 'href="/admin/backups"' in client.get("/admin").text  # in the admin menu
    page = client.get("/admin/backups").text
    files = page[page.index('id="backup-files"') :]
    assert files.index("crm-20261130-023000.db") < files.index("crm-20261129-023000.db")
    assert "缺少（备份可能不完整）" in files  # the one without its checksum
    assert "disk full" in page and "失败" in page
    assert "最近一次完整备份" in page and "已超过 36 小时" not in page  # the file just written

    # three days on, nothing new: the page says so
    os.utime(done, (old, old))
    assert "已超过 36 小时" in client.get("/admin/backups").text


def test_only_admins_see_the_backups(client, login, session, folder):
    manager = make_user(session, "manager", make_department(session))
    session.commit()
    login(manager)
    assert client.get("/admin/backups").status_code == 403
