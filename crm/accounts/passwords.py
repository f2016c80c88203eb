"""Argon2id password hashing and the password policy."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crm.config import get_settings
from crm.errors import ValidationFailed
from crm.i18n import _l

_COMMON = Path(__file__).with_name("common_passwords.txt")


@lru_cache
def hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib)


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# burns the same time as a real check, so an unknown user cannot be told from a wrong password
_DUMMY: list[str] = []


def verify_dummy(password: str) -> None:
    if not _DUMMY:
        _DUMMY.append(hash_password("dummy-password-for-timing"))
    verify_password(_DUMMY[0], password)


@lru_cache
def common_passwords() -> frozenset[str]:
    if not _COMMON.exists():
        return frozenset()
    return frozenset(
        line.strip().lower() for line in _COMMON.read_text(encoding="utf-8").splitlines() if line
    )


def check_policy(password: str, username: str) -> None:
    """Refuse weak passwords with a message naming the rule."""
    s = get_settings()
    if len(password) < s.password_min_length:
        n = s.password_min_length
        raise ValidationFailed(_l("密码至少 %(n)s 个字符", n=n), field="password")
    if len(password) > 256:
        raise ValidationFailed(_l("密码过长"), field="password")
    if not password.strip() or len(set(password)) < 4:
        raise ValidationFailed(_l("密码过于简单"), field="password")
    low = password.lower()
    if username and username.lower() in low:
        raise ValidationFailed(_l("密码不能包含用户名"), field="password")
    if low in common_passwords():
        raise ValidationFailed(_l("密码过于常见"), field="password")
