"""Who may call which route: the expected-access table that tests/security/test_route_access.py
checks against the app's own route table.

EVERY ROUTE NEEDS AN ENTRY HERE. A route the app serves without an entry fails the test, so
when you add a page, a fragment or an API endpoint, add one line below (the helpers make it one
line) — and think about who should get what.

Key: (METHOD, path exactly as declared in the router, e.g. "/projects/{project_id}").
Value: an ``Access`` with the expected status for each of five callers:

- ``anon``     no session, no token
- ``other``    an officer of department B (the confidential project is department A's)
- ``own``      the officer of department A who owns the confidential project
- ``manager``  a manager (of department B: managers see every department)
- ``admin``    an administrator (no department)

Path parameters are filled from tests/security/world.py: by name through ``PARAMS`` below
(``project_id`` → the CONFIDENTIAL project of department A, ``firm_id`` → a firm with that
project, ...), or per entry with ``params={"id": "project"}``. Statuses: an int, a tuple of
acceptable ints, or ``LOGIN`` (an anonymous page request sent to /login: 303).

Unsafe methods (POST/PUT/PATCH/DELETE) are sent with a valid CSRF token (CSRF refusal is tested
separately) and ``form=`` (pages) or ``json=`` (API) as the body; the world is rebuilt before each
caller so one caller's change cannot decide another's status.

On EVERY route, the response to the ``other`` officer must not contain the confidential
project's marker (its title, notes, activity and follow-up). With ``lists_secret=True`` the
responses to own/manager/admin MUST contain it — the proof that the route lists the project at
all, so the absence for ``other`` means something (use it on lists, search, board, reports,
exports, the calendar feed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

LOGIN = "login"

Status = int | tuple[int, ...] | str


@dataclass(frozen=True)
class Access:
    anon: Status
    other: Status
    own: Status
    manager: Status
    admin: Status
    params: dict[str, str] = field(default_factory=dict)  # path param → World attribute
    query: dict[str, Any] = field(default_factory=dict)
    form: dict[str, Any] | None = None  # body of unsafe page requests
    json: Any = None  # body of unsafe API requests
    htmx: bool = False  # send HX-Request: true (fragments)
    lists_secret: bool = False

    def expected(self, role: str) -> Status:
        return getattr(self, role)

    def with_(self, **kw: Any) -> Access:
        return replace(self, **kw)


# the version every API change must carry (the world is fresh for each call: version 1)
V1 = {"version": 1}

# path parameter name → attribute of tests/security/world.World
PARAMS: dict[str, str] = {
    "project_id": "project",
    "firm_id": "firm",
    "contact_id": "contact",
    "activity_id": "activity",
    "followup_id": "followup",
    "department_id": "dept_a",
    "user_id": "user:own",
    "code": "zh_CN",  # /lang/{code}
    "cluster_id": "cluster1",  # the policy pack's (kept between tests)
    "park_id": "park1",
}
EXTRA_WORLD = {
    "zh_CN": "zh_CN",
    "kind:firms": "firms",
    "report:coverage": "coverage",
    "negotiating": "negotiating",
    "cluster1": 1,
    "park1": 1,
}

OK = 200


def public(status: Status = OK, **kw: Any) -> Access:
    """Everyone, signed in or not."""
    return Access(status, status, status, status, status, **kw)


def page(ok: Status = OK, **kw: Any) -> Access:
    """Any signed-in user; anonymous callers go to the login page."""
    return Access(LOGIN, ok, ok, ok, ok, **kw)


def api(ok: Status = OK, **kw: Any) -> Access:
    """Any holder of a valid token; anonymous callers get 401."""
    return Access(401, ok, ok, ok, ok, **kw)


def confidential_page(ok: Status = OK, **kw: Any) -> Access:
    """A page about the confidential project (or a record tied to it): 404 for department B."""
    return Access(LOGIN, 404, ok, ok, ok, **kw)


def confidential_api(ok: Status = OK, **kw: Any) -> Access:
    return Access(401, 404, ok, ok, ok, **kw)


def manager_page(ok: Status = OK, **kw: Any) -> Access:
    return Access(LOGIN, 403, 403, ok, ok, **kw)


def manager_api(ok: Status = OK, **kw: Any) -> Access:
    return Access(401, 403, 403, ok, ok, **kw)


def admin_page(ok: Status = OK, **kw: Any) -> Access:
    return Access(LOGIN, 403, 403, 403, ok, **kw)


def admin_api(ok: Status = OK, **kw: Any) -> Access:
    return Access(401, 403, 403, 403, ok, **kw)


ACCESS: dict[tuple[str, str], Access] = {
    # --- app shell ---------------------------------------------------------------------------
    ("GET", "/healthz"): public(),
    ("GET", "/api/docs"): public(),
    ("GET", "/api/v1/openapi.json"): public(),
    # --- login, logout, language (web/auth.py) -----------------------------------------------
    ("GET", "/login"): Access(OK, 303, 303, 303, 303),  # signed in: on to the start page
    ("POST", "/login"): public(401, form={"username": "nobody", "password": "wrong-password-1"}),
    ("POST", "/logout"): public(303),
    ("GET", "/lang/{code}"): public(303),
    ("POST", "/lang"): page(303, form={"code": "en", "next": "/"}),
    ("GET", "/"): page(),
    # --- firms (web/firms.py, firm_form.py, firm_page.py, firm_contacts.py): every signed-in
    # user sees firms; the firm in the world is shared (no owner), so everyone may edit it; its
    # confidential project shows for A only
    ("GET", "/firms"): page(),
    # the header's search: the confidential project answers to its code name for those who
    # may see it, and to nobody else (the query is part of the code name, not the marker)
    ("GET", "/search"): page(lists_secret=True, query={"q": "代号甲"}),
    ("GET", "/firms/export.xlsx"): page(),
    ("GET", "/firms/similar"): page(htmx=True, query={"name_zh": "安全测试"}),
    ("GET", "/firms/parents"): page(htmx=True, query={"parent_q": "anquan"}),
    ("GET", "/firms/new"): page(),
    ("POST", "/firms/new"): page(303, form={"name_zh": "新目标企业"}),
    ("GET", "/firms/{firm_id}"): page(lists_secret=True),
    ("GET", "/firms/{firm_id}/edit"): page(),
    ("POST", "/firms/{firm_id}/edit"): page(
        303, form={"name_zh": "安全测试企业", "name_en": "Changed", "version": "1"}
    ),
    ("GET", "/firms/{firm_id}/timeline"): page(htmx=True, query={"offset": 0}, lists_secret=True),
    ("POST", "/firms/{firm_id}/activities"): page(
        htmx=True, form={"kind": "call", "summary": "电话"}
    ),
    # merging firms: managers and admins (nothing to merge with: 422 / 404)
    # handing over a user's work: admins, or a manager for their own department's officers
    # (the world's manager is department B's; the user is department A's officer)
    ("GET", "/users/team"): manager_page(),
    ("GET", "/users/{user_id}/handover"): admin_page(),
    ("POST", "/users/{user_id}/handover"): admin_page(303, form={}),
    # bulk reassignment from the lists (web/bulk.py): nothing selected is refused beside the
    # bar for managers and admins; officers may not
    ("POST", "/firms/reassign"): manager_page(422, form={}),
    ("POST", "/pipeline/reassign"): manager_page(422, form={}),
    ("GET", "/firms/{firm_id}/merge"): manager_page(),
    ("POST", "/firms/{firm_id}/merge"): manager_page(422, form={}),
    ("POST", "/firms/merges/{merge_id}/undo"): manager_page(
        404, params={"merge_id": "cluster1"}, form={}
    ),
    # --- activities as records (web/activities.py): the world's activity is tied to the
    # confidential project, so only its own department (and managers, admins) see it
    # --- the policy pack page (web/policy_admin.py): administrators only; an empty post is
    # refused beside the form
    ("GET", "/admin/policy"): admin_page(),
    ("POST", "/admin/policy/preview"): admin_page(422, form={"pack_text": ""}),
    ("POST", "/admin/policy/apply"): admin_page(422, form={"pack_text": ""}),
    ("GET", "/activities"): page(lists_secret=True),
    ("GET", "/contacts"): page(),
    ("GET", "/activities/new"): page(),
    ("POST", "/activities/new"): page(
        422, htmx=True, form={"kind": "call", "summary": "电话", "firm_ids": "2147483000"}
    ),
    ("GET", "/activities/firm-options"): page(htmx=True, query={"q": "anquan"}),
    ("GET", "/activities/choices"): page(htmx=True),
    ("GET", "/activities/{activity_id}"): Access(LOGIN, 404, OK, OK, OK),
    ("GET", "/activities/{activity_id}/edit"): Access(LOGIN, 404, OK, 403, OK),
    # (no firm chosen in this form: refused beside the field; tests/web/test_activities.py
    # saves real edits)
    ("POST", "/activities/{activity_id}/edit"): Access(
        LOGIN,
        404,
        422,
        403,
        422,
        htmx=True,
        form={"kind": "call", "summary": "改", "version": "1"},
    ),
    ("POST", "/activities/{activity_id}/delete"): Access(
        LOGIN, 404, 303, 403, 303, form={"version": "1"}
    ),
    ("GET", "/firms/{firm_id}/contacts"): page(htmx=True),
    ("POST", "/firms/{firm_id}/contacts"): page(htmx=True, form={"name": "张三"}),
    ("GET", "/firms/{firm_id}/contacts/{contact_id}/edit"): page(htmx=True),
    ("POST", "/firms/{firm_id}/contacts/{contact_id}"): page(
        htmx=True, form={"name": "联系人乙", "version": "1"}
    ),
    ("POST", "/firms/{firm_id}/contacts/{contact_id}/delete"): page(
        htmx=True, form={"version": "1"}
    ),
    # --- API auth (api/auth.py) --------------------------------------------------------------
    ("POST", "/api/v1/auth/token"): public(422),  # no form: a validation error for everyone
    ("POST", "/api/v1/auth/revoke"): api(204),
    # --- reports (api/reports.py): managers and admins; officers 403 -------------------------
    **{
        ("GET", f"/api/v1/reports/{name}{ext}"): manager_api()
        for name in ("coverage", "pipeline", "targets", "leaders", "activity", "delivery")
        for ext in ("", ".xlsx")
    },
    # what the leadership reads (#17): the weekly briefing (also as PDF), the city map, the
    # park layout — managers and admins, like the other reports
    **{
        ("GET", f"/api/v1/reports/{name}{ext}"): manager_api()
        for name, exts in (
            ("briefing", ("", ".xlsx", ".pdf")),
            ("map", ("", ".xlsx")),
            ("layout", ("", ".xlsx")),
        )
        for ext in exts
    },
    # --- import (web/imports.py): managers and admins ------------------------------------
    ("GET", "/imports"): manager_page(),
    ("POST", "/imports"): manager_page(422, form={"kind": "firms", "mode": "check"}),
    ("GET", "/imports/template/{kind}.xlsx"): manager_page(params={"kind": "kind:firms"}),
    ("GET", "/imports/history"): manager_page(),
    # the world has no import run: managers are told "not found", officers "forbidden"
    ("GET", "/imports/runs/{run_id}"): manager_page(404, params={"run_id": "user:own"}),
    ("POST", "/imports/runs/{run_id}/retry"): manager_page(
        404, params={"run_id": "user:own"}, form={}
    ),
    ("POST", "/imports/runs/{run_id}/import-anyway"): manager_page(
        404, params={"run_id": "user:own"}, form={"row": "2"}
    ),
    ("GET", "/imports/runs/{run_id}/rejected.xlsx"): manager_page(
        404, params={"run_id": "user:own"}
    ),
    # --- scheduled messages (web/jobs_admin.py) and the calendar feed (web/calendar.py) ------
    ("GET", "/admin/outbox"): admin_page(),
    ("GET", "/admin/backups"): admin_page(),  # web/admin.py: the backup status
    ("POST", "/admin/outbox/{message_id}/retry"): admin_page(
        404, params={"message_id": "user:own"}, form={}
    ),
    ("POST", "/admin/outbox/retry-failed"): admin_page(303, form={}),
    # the feed answers only to its secret token (tested in tests/jobs/test_pages.py): a wrong
    # one is "not found" for everyone, signed in or not
    ("GET", "/calendar/{token}.ics"): public(404, params={"token": "zh_CN"}),
    ("GET", "/settings/calendar"): page(),
    ("POST", "/settings/calendar/renew"): page(303, form={}),
    # --- report pages (web/reports.py): /reports redirects managers to the first report ------
    ("GET", "/reports"): Access(LOGIN, 403, 403, 303, 303),
    ("GET", "/reports/{name}"): manager_page(params={"name": "report:coverage"}),
    # --- notices and conflicts (web/notices.py): the bell for everyone, conflicts for managers --
    ("GET", "/notices"): page(),
    ("GET", "/notices/badge"): page(),
    ("POST", "/notices/read"): page(303, form={}),
    ("GET", "/conflicts"): Access(LOGIN, 403, 403, 200, 200),
    ("POST", "/conflicts/resolve"): Access(
        LOGIN,
        403,
        403,
        404,  # no such conflict in the world (the resolve itself: tests/crm/test_notices.py)
        404,
        form={"first_id": 999999, "later_id": 999998, "keep": "first", "action": "close"},
    ),
    # --- own account (web/account.py, api/account.py) ----------------------------------------
    ("GET", "/account"): page(),
    ("POST", "/account/password"): page(
        form={
            "old_password": "Correct-Horse-42",
            "new_password": "Brand-New-Passw0rd!",
            "new_password2": "Brand-New-Passw0rd!",
        }
    ),
    ("POST", "/api/v1/me/password"): api(
        204, json={"old_password": "Correct-Horse-42", "new_password": "Brand-New-Passw0rd!"}
    ),
    # --- administration (web/admin.py) -------------------------------------------------------
    ("GET", "/admin"): admin_page(),
    ("GET", "/admin/users"): admin_page(),
    ("POST", "/admin/users"): admin_page(
        303, form={"username": "new_user", "password": "Very-Long-Passphrase-9", "role": "admin"}
    ),
    ("POST", "/admin/users/{user_id}"): admin_page(303, form={"role": "manager", "version": "1"}),
    ("POST", "/admin/users/{user_id}/password"): admin_page(
        303, form={"password": "Another-Long-Pass-77"}
    ),
    ("POST", "/admin/users/{user_id}/unlock"): admin_page(303),
    ("GET", "/admin/departments"): admin_page(),
    ("POST", "/admin/departments"): admin_page(303, form={"name": "丙招商局", "code": "DC"}),
    ("POST", "/admin/departments/{department_id}"): admin_page(
        303, form={"name": "甲招商局（改）", "code": "DA2", "version": "1"}
    ),
    ("POST", "/admin/departments/{department_id}/webhook"): admin_page(
        303,
        form={
            "kind": "dingtalk",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=t",
            "version": "1",
            "secret": "SECabc",
        },
    ),
    ("GET", "/admin/audit"): admin_page(),
    # --- My day's and the follow-ups pages' actions (web/followups.py) ------------------------
    # ``followup_id`` is the confidential project's follow-up, assigned to the "own" officer;
    # the manager is department B's: may see it, may not change it
    ("GET", "/followups"): page(),
    ("GET", "/followups/new"): page(),
    ("POST", "/followups/new"): page(422, form={}),
    ("GET", "/followups/{followup_id}/edit"): confidential_page(),
    ("POST", "/followups/{followup_id}/edit"): Access(
        LOGIN,
        404,
        303,
        403,
        303,
        form={"title": "改", "due_at": "2030-01-02T10:00", "version": "1"},
    ),
    ("POST", "/followups/{followup_id}/done"): Access(
        LOGIN, 404, 303, 403, 303, form={"version": "1"}
    ),
    ("POST", "/followups/{followup_id}/cancel"): Access(
        LOGIN, 404, 303, 403, 303, form={"version": "1"}
    ),
    ("POST", "/followups/{followup_id}/reschedule"): Access(
        LOGIN, 404, 303, 403, 303, form={"when": "tomorrow", "version": "1"}
    ),
    # --- pipeline and project pages (web/pipeline.py, web/projects.py) ----------------------
    # ``project_id`` is department A's confidential project (stage negotiating, no capital yet)
    ("GET", "/pipeline"): page(lists_secret=True),
    ("GET", "/pipeline/column/{stage}"): page(
        params={"stage": "negotiating"}, htmx=True, lists_secret=True
    ),
    ("POST", "/projects/{project_id}/stage"): Access(
        LOGIN, 404, 303, 403, 303, form={"stage": "signed", "via": "page", "version": "1"}
    ),
    ("GET", "/projects/new"): page(),
    ("POST", "/projects/new"): page(422, form={}),
    ("GET", "/projects/{project_id}"): confidential_page(lists_secret=True),
    ("GET", "/projects/{project_id}/edit"): confidential_page(lists_secret=True),
    ("POST", "/projects/{project_id}/edit"): Access(
        LOGIN,
        404,
        303,
        403,
        303,
        form={"title": "改名", "version": "1", "is_confidential": "1", "code_name": "代号甲"},
    ),
    ("POST", "/projects/{project_id}/capital"): Access(
        LOGIN, 404, 409, 403, 409, form={"amount": "1", "arrived_on": "2026-01-01"}
    ),
}

# --- the JSON API: firms, contacts, projects (api/firms.py, api/projects.py) -------------------
# the world's firm has no owner (shared: everyone may edit it) and has projects (no delete);
# the confidential project is department A's, the manager is department B's (sees, not edits)
ACCESS.update(
    {
        ("GET", "/api/v1/firms"): api(),
        ("POST", "/api/v1/firms"): api(201, json={"name_zh": "全新测试企业"}),
        ("GET", "/api/v1/firms/{firm_id}"): api(),
        ("PATCH", "/api/v1/firms/{firm_id}"): api(json={"notes": "备注", "version": 1}),
        # deleting a firm is for managers and admins (ATTACK9 P1-1): officers 403 whatever refers
        ("DELETE", "/api/v1/firms/{firm_id}"): manager_api(409, query=V1),
        ("GET", "/api/v1/users/{user_id}/holdings"): admin_api(),
        ("POST", "/api/v1/users/{user_id}/reassign"): admin_api(json={}),
        # nobody to give them to: 422 for managers and admins, 403 for officers
        ("POST", "/api/v1/firms/reassign"): Access(
            401, 403, 403, 422, 422, json={"ids": [2**30], "to_user_id": 2**30}
        ),
        ("POST", "/api/v1/projects/reassign"): Access(
            401, 403, 403, 422, 422, json={"ids": [2**30], "to_user_id": 2**30}
        ),
        ("GET", "/api/v1/firms/{firm_id}/merge"): manager_api(404, query={"other_id": 2**30}),
        ("POST", "/api/v1/firms/{firm_id}/merge"): manager_api(
            404, json={"other_id": 2**30, "version": 1, "other_version": 1}
        ),
        ("POST", "/api/v1/firms/merges/{merge_id}/undo"): manager_api(
            404, params={"merge_id": "cluster1"}
        ),
        ("GET", "/api/v1/firms/{firm_id}/contacts"): api(),
        ("POST", "/api/v1/firms/{firm_id}/contacts"): api(201, json={"name": "新联系人"}),
        ("GET", "/api/v1/contacts"): api(),
        ("GET", "/api/v1/contacts/{contact_id}"): api(),
        ("PATCH", "/api/v1/contacts/{contact_id}"): api(json={"phone": "023-1", "version": 1}),
        ("DELETE", "/api/v1/contacts/{contact_id}"): api(204).with_(query=V1),
        ("GET", "/api/v1/projects"): api(lists_secret=True),
        # a firm that does not exist: refused as input for everyone, nothing created
        ("POST", "/api/v1/projects"): api(422, json={"firm_id": 2**30, "cluster": "NB"}),
        ("GET", "/api/v1/projects/{project_id}"): confidential_api(lists_secret=True),
        ("PATCH", "/api/v1/projects/{project_id}"): Access(
            401, 404, 200, 403, 200, json={"notes": "改", "version": 1}
        ),
        # it has an activity and a follow-up: mark it lost instead
        ("DELETE", "/api/v1/projects/{project_id}"): Access(401, 404, 409, 403, 409, query=V1),
        ("POST", "/api/v1/projects/{project_id}/stage"): Access(
            401, 404, 200, 403, 200, json={"stage": "signed", "version": 1}
        ),
        ("GET", "/api/v1/projects/{project_id}/history"): confidential_api(),
        ("GET", "/api/v1/projects/{project_id}/capital"): confidential_api(),
        # negotiating: capital arrives only after signing
        ("POST", "/api/v1/projects/{project_id}/capital"): Access(
            401, 404, 409, 403, 409, json={"amount": "1", "arrived_on": "2026-01-02"}
        ),
    }
)

# --- the JSON API: activities, follow-ups, clusters and parks, accounts -------------------------
# the activity and the follow-up are tied to the confidential project (department A, "own")
ACCESS.update(
    {
        ("GET", "/api/v1/activities"): api(lists_secret=True),
        ("POST", "/api/v1/activities"): api(
            422, json={"kind": "visit", "summary": "拜访", "firm_ids": [2**30]}
        ),
        ("GET", "/api/v1/activities/{activity_id}"): confidential_api(lists_secret=True),
        ("PATCH", "/api/v1/activities/{activity_id}"): Access(
            401, 404, 200, 403, 200, json={"outcome": "好", "version": 1}
        ),
        ("DELETE", "/api/v1/activities/{activity_id}"): Access(401, 404, 204, 403, 204, query=V1),
        ("GET", "/api/v1/followups"): api(),  # each caller's own by default
        # a follow-up on neither a firm nor a project is refused (SPEC: firm and/or project);
        # tests/api/test_activities_followups.py creates real ones
        ("POST", "/api/v1/followups"): api(
            422, json={"title": "回访", "due_at": "2030-01-01T09:00:00+08:00"}
        ),
        ("GET", "/api/v1/followups/{followup_id}"): confidential_api(lists_secret=True),
        ("PATCH", "/api/v1/followups/{followup_id}"): Access(
            401, 404, 200, 403, 200, json={"notes": "改", "version": 1}
        ),
        ("DELETE", "/api/v1/followups/{followup_id}"): Access(401, 404, 204, 403, 204, query=V1),
        ("POST", "/api/v1/followups/{followup_id}/complete"): Access(
            401, 404, 200, 403, 200, query=V1
        ),
        ("POST", "/api/v1/followups/{followup_id}/cancel"): Access(
            401, 404, 200, 403, 200, query=V1
        ),
        ("GET", "/api/v1/clusters"): api(),
        ("GET", "/api/v1/clusters/{cluster_id}"): api(),
        # the cluster's version may have moved on in this database (API tests, the fuzz run)
        ("PATCH", "/api/v1/clusters/{cluster_id}"): admin_api(
            (200, 409), json={"lead_department_id": None, "version": 1}
        ),
        ("GET", "/api/v1/parks"): api(),
        ("GET", "/api/v1/parks/{park_id}"): api(),
        ("GET", "/api/v1/me"): api(),
        ("PATCH", "/api/v1/me"): api(json={"display_name": "新名字", "version": 1}),
        ("GET", "/api/v1/users"): api(),
        ("POST", "/api/v1/users"): admin_api(
            # an administrator: an officer or manager also needs a department (ids vary)
            201,
            json={"username": "newbie", "password": "Long-Enough-Pass-1", "role": "admin"},
        ),
        ("GET", "/api/v1/users/{user_id}"): api(),
        # administrators only (a user changes their own name through PATCH /me)
        ("PATCH", "/api/v1/users/{user_id}"): admin_api(json={"display_name": "x", "version": 1}),
        # a user who holds no work (one who does is refused with 409 and the handover link)
        ("DELETE", "/api/v1/users/{user_id}"): admin_api(200).with_(
            query=V1, params={"user_id": "user:manager"}
        ),
        ("GET", "/api/v1/departments"): api(),
        ("POST", "/api/v1/departments"): admin_api(201, json={"name": "新部门", "code": "NEWD"}),
        ("GET", "/api/v1/departments/{department_id}"): api(),
        ("PATCH", "/api/v1/departments/{department_id}"): admin_api(
            json={"name": "改名", "version": 1}
        ),
        ("PUT", "/api/v1/departments/{department_id}/webhook"): admin_api(
            json={
                "kind": "wecom",
                "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
                "version": 1,
            }
        ),
        ("DELETE", "/api/v1/departments/{department_id}"): admin_api(409).with_(  # it has users
            query=V1
        ),
    }
)
