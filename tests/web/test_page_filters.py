"""An unknown filter value on a page is refused (422, in the reader's language), as the API and
the reports answer — never the whole list shown as if filtered (server.page_input.known_choice,
crm.projects.service.check_filter_codes)."""

from __future__ import annotations

import pytest

from tests.factories import make_department, make_user
from tests.web.conftest import log_in

UNKNOWN = [
    ("/firms?tier=zzz", "未知的筛选值：zzz"),
    ("/followups?status=zzz", "未知的筛选值：zzz"),
    ("/pipeline?cluster=ZZZ", "未知产业集群：ZZZ"),
    ("/pipeline?view=table&park=ZZZ", "未知园区：ZZZ"),
    ("/reports/map?cluster=ZZZ", "未知产业集群"),
    ("/reports/layout?cluster=ZZZ", "未知产业集群"),
]
KNOWN = [
    "/firms?tier=global500",
    "/firms?tier=",
    "/followups?status=all",
    "/followups?status=done",
    "/followups",
    "/pipeline?cluster=NB",
    "/pipeline?view=table&cluster=",
]


@pytest.fixture
def manager_client(client, session):
    manager = make_user(session, "manager", make_department(session))
    session.commit()
    log_in(client, manager)
    return client


def test_unknown_filter_values_are_refused_on_every_page(manager_client):
    for url, message in UNKNOWN:
        r = manager_client.get(url)
        assert r.status_code == 422 and message in r.text, (url, r.status_code)
    for url in KNOWN:
        assert manager_client.get(url).status_code == 200, url
