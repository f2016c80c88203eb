"""Moved: every authorization rule lives in ``crm.authz`` (this name stays importable while
other branches move over; it defines nothing)."""

from crm.authz import *  # noqa: F403
from crm.authz import __all__  # noqa: F401
