"""Every page router, in one list the app mounts."""

from __future__ import annotations

from fastapi import APIRouter

from web import (
    account,
    activities,
    admin,
    auth,
    bulk,
    calendar,
    contacts,
    firm_contacts,
    firm_form,
    firm_merge,
    firm_page,
    firms,
    followups,
    handover,
    home,
    imports,
    jobs_admin,
    notices,
    pipeline,
    policy_admin,
    projects,
    reports,
    search,
)

router = APIRouter()
for module in (
    auth,
    home,
    firm_merge,
    firms,
    firm_form,  # /firms/new before /firms/{firm_id}
    firm_page,
    firm_contacts,
    contacts,
    activities,
    imports,
    calendar,
    jobs_admin,
    followups,
    pipeline,
    projects,
    reports,
    notices,
    account,
    admin,
    handover,
    bulk,
    policy_admin,
    search,
):
    router.include_router(module.router)
