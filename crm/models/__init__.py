"""Every table, imported in one place so metadata (and Alembic) sees them all."""

from sqlmodel import SQLModel

from crm.models.accounts import ApiToken, Department, LoginAttempt, Role, User, WebSession
from crm.models.activities import (
    Activity,
    ActivityContact,
    ActivityFirm,
    ActivityKind,
    ActivityOfficer,
    ActivityOfficerWeek,
    ActivityProject,
)
from crm.models.audit import AuditRecord
from crm.models.caches import CacheVersion
from crm.models.firms import Contact, Firm, FirmAlias, FirmCluster, Tier
from crm.models.followups import Followup, FollowupOfficerWeek, FollowupStatus
from crm.models.imports import ImportRun
from crm.models.notices import Notice
from crm.models.outbox import JobRun, OutboxMessage
from crm.models.policy import ChainLink, Cluster, Park, ParkCluster, PlanTarget, PolicyPack
from crm.models.projects import CapitalArrival, Project, Stage, StageChange
from crm.models.submissions import FormSubmission
from crm.models.summaries import ReportStamp, SummaryFillState

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
    "CacheVersion",
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
    "FormSubmission",
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
    "ReportStamp",
    "Role",
    "Stage",
    "StageChange",
    "SummaryFillState",
    "Tier",
    "User",
    "WebSession",
    "metadata",
]
