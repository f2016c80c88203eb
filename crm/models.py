"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from crm.accounts.models import ApiToken, Department, LoginAttempt, Role, User, WebSession
from crm.activities.models import (
    Activity,
    ActivityContact,
    ActivityFirm,
    ActivityKind,
    ActivityOfficer,
    ActivityOfficerWeek,
    ActivityProject,
)
from crm.audit.models import AuditRecord
from crm.firms.models import Contact, Firm, FirmAlias, FirmCluster, Tier
from crm.followups.models import Followup, FollowupOfficerWeek, FollowupStatus
from crm.imports.models import ImportRun
from crm.notices.models import Notice
from crm.outbox.models import JobRun, OutboxMessage
from crm.policy.models import ChainLink, Cluster, Park, ParkCluster, PlanTarget, PolicyPack
from crm.projects.models import CapitalArrival, Project, Stage, StageChange
from crm.summaries.models import SummaryFillState

metadata = SQLModel.metadata

__all__ = [
    "Activity",
    "ActivityContact",
    "ActivityFirm",
    "ActivityKind",
    "ActivityOfficer",
    "ActivityOfficerWeek",
    "ActivityProject",
    "ApiToken",
    "AuditRecord",
    "CapitalArrival",
    "ChainLink",
    "Cluster",
    "Contact",
    "Department",
    "Firm",
    "FirmAlias",
    "FirmCluster",
    "Followup",
    "FollowupOfficerWeek",
    "FollowupStatus",
    "ImportRun",
    "JobRun",
    "LoginAttempt",
    "Notice",
    "OutboxMessage",
    "Park",
    "ParkCluster",
    "PlanTarget",
    "PolicyPack",
    "Project",
    "Role",
    "Stage",
    "StageChange",
    "SummaryFillState",
    "Tier",
    "User",
    "WebSession",
    "metadata",
]
