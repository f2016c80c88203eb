"""Accounts, one module per seam; this module keeps the old import path for callers.

- ``auth``: logins with throttling and lockout
- ``sessions``: browser sessions; ending a user's sessions and tokens
- ``tokens``: API tokens
- ``users``: users (admin changes, own profile and password, listings)
- ``departments``: departments
- ``webhooks``: a department's group robot
"""

from __future__ import annotations

from crm.accounts.auth import (
    LOGIN_FAILED,
    LOGIN_LOCKED,
    authenticate,
    is_locked,
)
from crm.accounts.departments import (
    create_department,
    delete_department,
    department_out,
    department_public,
    department_user_counts,
    get_department,
    get_or_create_department,
    list_departments,
    page_departments,
    update_department,
)
from crm.accounts.sessions import (
    end_sessions,
    end_web_session,
    resolve_web_session,
    start_web_session,
)
from crm.accounts.tokens import issue_api_token, resolve_api_token, revoke_api_token
from crm.accounts.users import (
    admin_list_users,
    admin_overview,
    change_password,
    create_user,
    get_user,
    list_users,
    page_users,
    reset_password,
    unlock_user,
    update_own_profile,
    update_user,
    user_choices,
    user_profile,
    user_public,
)
from crm.accounts.webhooks import WEBHOOK_KINDS, set_department_webhook

__all__ = [
    "LOGIN_FAILED",
    "LOGIN_LOCKED",
    "WEBHOOK_KINDS",
    "admin_list_users",
    "admin_overview",
    "authenticate",
    "change_password",
    "create_department",
    "create_user",
    "delete_department",
    "department_out",
    "department_public",
    "department_user_counts",
    "end_sessions",
    "end_web_session",
    "get_department",
    "get_or_create_department",
    "get_user",
    "is_locked",
    "issue_api_token",
    "list_departments",
    "list_users",
    "page_departments",
    "page_users",
    "reset_password",
    "resolve_api_token",
    "resolve_web_session",
    "revoke_api_token",
    "set_department_webhook",
    "start_web_session",
    "unlock_user",
    "update_department",
    "update_own_profile",
    "update_user",
    "user_choices",
    "user_profile",
    "user_public",
]
