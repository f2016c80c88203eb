"""Demo departments and users (admin, a manager per department, officers)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select

from crm.db import table
from crm.demo import names as N
from crm.demo.run import Run, cum, pick_cw
from crm.models.accounts import Department, User


@dataclass
class Staff:
    officers: list[int]
    dept_of: dict[int, int]
    by_dept: dict[int, list[int]]
    managers: dict[int, int]


def cn_name(rng: random.Random) -> str:
    given = "".join(rng.choice(N.GIVEN_CHARS) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(N.SURNAMES) + given


def write_departments(run: Run) -> dict[str, tuple[int, str | None]]:
    t = table(Department)
    have = {name: did for did, name in run.conn.execute(select(t.c.id, t.c.name))}
    codes = set(run.conn.execute(select(t.c.code)).scalars())
    nid = run.next_id(t)
    out: dict[str, tuple[int, str | None]] = {}
    for name, code, park in N.DEPARTMENTS[: run.scale.departments]:
        did = have.get(name)
        if did is None:
            did, nid = nid, nid + 1
            run.add(
                t,
                {
                    "id": did,
                    "name": name,
                    "code": code if code not in codes else f"{code}-{did}",
                    "webhook_kind": None,
                    "webhook_url": None,
                    "webhook_secret": None,
                    "created_at": run.at(-3300),
                    "version": 1,
                },
            )
        out[name] = (did, park)
    run.flush()
    return out


def write_users(run: Run, dept_ids: list[int], password_hash: str) -> Staff:
    rng, t = run.rng, table(User)
    admin = run.conn.execute(select(t.c.id).where(t.c.username == "admin")).scalar()
    n_mgr = min(len(dept_ids), max(1, run.scale.users // 4))
    n_off = run.scale.users - 1 - n_mgr
    nid = run.next_id(t)
    staff = Staff([], {}, {d: [] for d in dept_ids}, {})
    weights = cum(2.0 if i < 3 else 1.0 for i in range(len(dept_ids)))

    def add(username: str, display: str, role: str, dept: int) -> int:
        nonlocal nid
        uid, nid = nid, nid + 1
        created = run.at(-3200 + rng.uniform(0, 200))
        run.add(
            t,
            {
                "id": uid,
                "username": username,
                "display_name": display,
                "email": f"{username}@demo.example.com",
                "role": role,
                "department_id": dept,
                "password_hash": password_hash,
                "is_active": True,
                "language": "zh_CN",
                "session_version": 1,
                "failed_logins": 0,
                "locked_until": None,
                "ical_token": None,
                "created_at": created,
                "last_login_at": None,
                "password_changed_at": created,
                "version": 1,
            },
        )
        return uid

    if admin is None:
        add("admin", "系统管理员", "admin", dept_ids[0])
    for i in range(n_mgr):
        staff.managers[dept_ids[i]] = add(
            f"manager{i + 1:02d}", cn_name(rng), "manager", dept_ids[i]
        )
    for i in range(n_off):
        dept = dept_ids[i] if i < len(dept_ids) else pick_cw(rng, dept_ids, weights)
        uid = add(f"officer{i + 1:03d}", cn_name(rng), "officer", dept)
        staff.officers.append(uid)
        staff.dept_of[uid] = dept
        staff.by_dept[dept].append(uid)
    staff.by_dept = {d: o for d, o in staff.by_dept.items() if o}
    run.flush()
    return staff
