"""The people pickers' rows are read once per process and kept until a user changes: every
change through the services shows at once, and the list is shared while nothing changes."""

from __future__ import annotations

from sqlmodel import Session

from crm.accounts.service import create_user, update_user, user_choices
from tests.factories import PASSWORD, default_department, make_department, make_user
from web.render import user_options


def test_the_picker_follows_every_change_of_a_user(session: Session) -> None:
    admin = make_user(session, "admin", display_name="管理员")
    a = make_user(session, "officer", display_name="张三")
    session.commit()
    first = user_choices(session, admin)
    assert {r.display_name for r in first} == {"管理员", "张三"}
    assert user_choices(session, admin) is first  # nothing changed: the same rows
    html = user_options(first, selected=a.id)
    assert f'<option value="{a.id}" selected>张三</option>' in html

    update_user(session, admin, a.id, display_name="张三丰", version=a.version)
    session.commit()
    renamed = user_choices(session, admin)
    assert renamed is not first
    assert {r.display_name for r in renamed} == {"管理员", "张三丰"}
    assert "张三丰" in user_options(renamed) and ">张三<" not in user_options(renamed)

    b = create_user(
        session,
        None,
        username="lisi",
        password=PASSWORD,
        role="officer",
        display_name="李四",
        department_id=default_department(session).id,
        check_password=False,
    )
    session.commit()
    assert "李四" in {r.display_name for r in user_choices(session, admin)}

    update_user(session, admin, b.id, is_active=False, version=b.version)
    session.commit()
    row = next(r for r in user_choices(session, admin) if r.id == b.id)
    assert row.is_active is False or row.is_active == 0
    # excluded and selected as before
    html = user_options(user_choices(session, admin), selected=str(b.id), exclude=admin.id)
    assert f'<option value="{b.id}" selected>李四</option>' in html and "管理员" not in html


def test_the_officer_list_is_shared_and_keeps_its_rendered_picker(session):
    """The officers (active, not admins) are built once per version of the users, and carry
    their own ``rendered`` store, so the officer picker is rendered once, not per request."""
    dept = make_department(session)
    active = make_user(session, "officer", dept)
    make_user(session, "admin", dept)
    gone = make_user(session, "officer", dept)
    gone.is_active = False
    session.commit()
    officers = user_choices(session, active).officers
    assert active.id in {u.id for u in officers}
    assert all(u.is_active and u.role != "admin" for u in officers)
    assert gone.id not in {u.id for u in officers}
    assert officers.rendered == {}
    session.commit()  # a later request: the same shared list, not a rebuilt one
    assert user_choices(session, active).officers is officers


def test_a_kept_picker_marks_and_cuts_as_one_built_each_time(session):
    """The kept picker (one string, the chosen option marked and the excluded one cut out) is
    the picker built option by option, for every choice: none, each user, an unknown or
    malformed id, the excluded user chosen, the first and the last option excluded."""
    dept = make_department(session)
    users = [make_user(session, "officer", dept, display_name=f"<员{i}>&") for i in range(4)]
    session.commit()
    kept = user_choices(session, users[0])
    plain = list(kept)  # the same rows without the kept store
    ids = [u.id for u in users]
    for selected in [None, "", "x", "999999", *ids, *map(str, ids)]:
        for exclude in [None, "1", ids[0], ids[-1], ids[1]]:
            got = user_options(kept, selected=selected, exclude=exclude)
            assert got == user_options(plain, selected=selected, exclude=exclude)
    assert f'value="{ids[1]}" selected>&lt;员1&gt;&amp;</option>' in user_options(kept, ids[1])
