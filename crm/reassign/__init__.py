"""Handing an officer's work to others: what they hold, reassigning it (all to one person or
firm by firm) in one audited step — with or without deactivating them — and bulk reassignment
of selected firms or projects.

Who may: an admin, or a manager for the officers of their own department (and to people of
that department). Nothing open is left pointing at an inactive user: ``orphaned_followups``
finds what still does (the daily check tells the department's manager).

One thing per module: ``moving`` (the checks and writes every reassignment shares, and a
project's follow-ups handed to its new owner), ``handover`` (an officer's holdings, the team,
``reassign``), ``bulk`` (``bulk_reassign``), ``orphans`` (follow-ups of inactive users and the
daily notice). The names below are the package's interface."""

from crm.reassign.bulk import bulk_heirs, bulk_reassign
from crm.reassign.handover import Held, Member, holdings, reassign, require_handover, team
from crm.reassign.moving import hand_over_followups
from crm.reassign.orphans import compose_orphan_notices, orphaned_followups

__all__ = [
    "Held",
    "Member",
    "bulk_heirs",
    "bulk_reassign",
    "compose_orphan_notices",
    "hand_over_followups",
    "holdings",
    "orphaned_followups",
    "reassign",
    "require_handover",
    "team",
]
