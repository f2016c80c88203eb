"""Users, departments, web sessions, API tokens and login attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, String
from sqlmodel import Field, SQLModel

from crm.types import IDS_NEVER_REUSED, UTCDateTime, Versioned, utcnow


class Role(StrEnum):
    officer = "officer"
    manager = "manager"
    admin = "admin"


class Department(Versioned, SQLModel, table=True):
    __tablename__ = "department"
    __table_args__ = (IDS_NEVER_REUSED,)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    code: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    webhook_kind: str | None = Field(default=None, max_length=20)  # wecom | dingtalk
    webhook_url: str | None = Field(default=None, max_length=500)
    webhook_secret: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    version: int = Field(default=1)


class User(Versioned, SQLModel, table=True):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role in ('officer','manager','admin')", name="ck_user_role"),
        Index("ix_user_department", "department_id"),
        IDS_NEVER_REUSED,
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, sa_column_kwargs={"unique": True})
    display_name: str = Field(max_length=100)
    email: str | None = Field(default=None, max_length=200)
    role: str = Field(default=Role.officer, max_length=20)
    department_id: int | None = Field(default=None, foreign_key="department.id")
    password_hash: str = Field(max_length=255)
    is_active: bool = Field(default=True)
    language: str = Field(default="zh_CN", max_length=10)
    session_version: int = Field(default=1)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ical_token: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    password_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1)


class WebSession(SQLModel, table=True):
    """A browser session held on the server, so logout and expiry end it for real."""

    __tablename__ = "web_session"
    __table_args__ = (Index("ix_web_session_user", "user_id"),)

    id: str = Field(sa_column=Column(String(64), primary_key=True))
    user_id: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (Index("ix_api_token_user", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id")
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    name: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LoginAttempt(SQLModel, table=True):
    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_ip_at", "ip", "at"),
        Index("ix_login_attempt_username_at", "username", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60)
    ip: str | None = Field(default=None, max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    success: bool = Field(default=False)
